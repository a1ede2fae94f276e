"""Presidio's pattern recognisers as a peer: the ones that need no NLP model, run offline.

Presidio finds names only through an NLP model (spaCy/transformers NER), which is not downloaded
here; the peer is its regex + checksum recognisers for e-mail, IP, phone, card, IBAN and the five
Korean identifiers. Overlapping results are resolved by score, then length.
"""

from __future__ import annotations

#: Presidio entity -> our type.
ENTITY_TYPES = {
    "EMAIL_ADDRESS": "email", "IP_ADDRESS": "ip", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban", "KR_RRN": "rrn", "KR_FRN": "frn", "KR_BRN": "brn", "KR_PASSPORT": "passport",
    "KR_DRIVER_LICENSE": "driver_license",
}
#: Our types Presidio has a pattern recogniser for.
PRESIDIO_TYPES = frozenset(ENTITY_TYPES.values())


class PresidioPatterns:
    """``__call__(text) -> [(start, end, type)]`` over Presidio's model-free recognisers."""

    def __init__(self) -> None:
        import tldextract
        from presidio_analyzer import predefined_recognizers as R

        # The e-mail recogniser checks domains with tldextract, which would fetch the public-suffix
        # list over the network; use the snapshot bundled with the package instead.
        tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
        self.recognizers = [
            R.EmailRecognizer(), R.IpRecognizer(), R.PhoneRecognizer(supported_regions=("KR", "US", "GB")),
            R.CreditCardRecognizer(), R.IbanRecognizer(), R.KrRrnRecognizer(), R.KrFrnRecognizer(),
            R.KrBrnRecognizer(), R.KrPassportRecognizer(), R.KrDriverLicenseRecognizer(),
        ]

    def __call__(self, text: str) -> list[tuple[int, int, str]]:
        found = []
        for rec in self.recognizers:
            for r in rec.analyze(text, rec.supported_entities, None) or []:
                if r.entity_type in ENTITY_TYPES and r.score > 0:
                    found.append((r.score, r.end - r.start, r.start, r.end, ENTITY_TYPES[r.entity_type]))
        kept: list[tuple[int, int, str]] = []
        for _score, _len, s, e, t in sorted(found, key=lambda x: (-x[0], -x[1], x[2])):
            if not any(s < ke and ks < e for ks, ke, _ in kept):
                kept.append((s, e, t))
        return sorted(kept)
