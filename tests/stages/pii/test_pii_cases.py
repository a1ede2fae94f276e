"""Each known failure class: the fix, and the look-alike that must stay."""

from __future__ import annotations

import pytest

from stages.pii import detect


def _found(text: str) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.type) for s in detect(text) if s.type != "name"]


FOUND = [
    # phones with middle dots, spaced hyphens, brackets; masked digits
    ("연락처 010·1234·5678", "010·1234·5678", "phone"),
    ("010・1234・5678 로 연락", "010・1234・5678", "phone"),
    ("연락처 010ㆍ1234ㆍ5678", "010ㆍ1234ㆍ5678", "phone"),
    ("전화 02·1234·5678", "02·1234·5678", "phone"),
    ("전화 010 - 1234 - 5678", "010 - 1234 - 5678", "phone"),
    ("(010) 1234 5678", "(010) 1234 5678", "phone"),
    ("010) 1234 5678 로", "010) 1234 5678", "phone"),
    ("번호가 010-****-5678 이었고", "010-****-5678", "phone"),
    ("번호 010-12**-5678", "010-12**-5678", "phone"),
    ("번호 010-1234-****", "010-1234-****", "phone"),
    ("번호 010-xxxx-5678", "010-xxxx-5678", "phone"),
    # masked, spaced and OCR-read registration numbers
    ("주민번호 900101-1******", "900101-1******", "rrn"),
    ("주민번호 900101-*******", "900101-*******", "rrn"),
    ("주민등록번호 9 0 0 1 0 1 - 1 2 3 4 5 6 8", "9 0 0 1 0 1 - 1 2 3 4 5 6 8", "rrn"),
    ("주민등록번호 9 0 0 1 0 1 1 2 3 4 5 6 8", "9 0 0 1 0 1 1 2 3 4 5 6 8", "rrn"),
    ("주민등록번호: 9OO1O1-l234568", "9OO1O1-l234568", "rrn"),
    ("주민번호 900101 - 1234568", "900101 - 1234568", "rrn"),
    # short IPv6, single-digit public IPs with a network word, ports
    ("inet6 fe80::1 scope link", "fe80::1", "ip"),
    ("prefix 2001:db8:: 할당", "2001:db8::", "ip"),
    ("DNS 8.8.8.8 응답 정상", "8.8.8.8", "ip"),
    ("접속 IP 1.1.1.1", "1.1.1.1", "ip"),
    ("upstream 10.0.3.7:8080 ok", "10.0.3.7:8080", "ip"),
    ("from 203.0.113.9:51234", "203.0.113.9:51234", "ip"),
    # addresses: numbered buildings and counters, units after a comma, road names with numbers
    ("서울 강남구 도곡로 21 2차 현대아파트 101동 1203호", "도곡로 21 2차 현대아파트 101동 1203호", "address"),
    ("서울 강남구 테헤란로 123 명동빌딩", "테헤란로 123 명동빌딩", "address"),
    ("서울 강남구 테헤란로 152, 1203호", "테헤란로 152, 1203호", "address"),
    ("성남시 분당구 판교역로 235, 101동 1203호", "판교역로 235, 101동 1203호", "address"),
    ("서울 종로구 종로5가 123-4", "종로5가 123-4", "address"),
]


@pytest.mark.parametrize(("text", "value", "pii_type"), FOUND, ids=[f[0][:20] for f in FOUND])
def test_found(text: str, value: str, pii_type: str) -> None:
    assert _found(text) == [(value, pii_type)]


STAYS = [
    # order, waybill and invoice numbers of registration shape
    "주문번호 240315-1234567", "주문번호: 240315-1234568", "운송장번호 880101-1234568", "송장번호: 950505-2345678",
    "Invoice No. 950505-2345678", "영수증번호 240101-3123456",
    # timestamps next to bank and messenger words
    "신한은행 입금 2024-03-15 14:22:33", "카카오뱅크 알림 2024.03.15 14:22", "카카오톡 2024/03/15 09:12:45 메시지",
    "[KB국민은행] 20240315 142233 입금",
    # serial and model codes glued to letters
    "device SN11-22-123456-12", "model A11-22-123456-12B", "S/N:X11-22-123456-12",
    # version strings
    "OpenJDK 11.0.20.1", "runtime version 1.2.3.4", "버전은 2.1.0.12입니다", "펌웨어 버전: 3.1.2.5", "빌드 v1.2.3.4",
    "Node.js 18.17.1.2 설치", "Chrome/120.0.1.2", ".NET Runtime 8.0.1.5", "1.2.3.4 버전 이상",
    # single-digit quads without a network word, loopback
    "1.2.3.4 업데이트 노트", "::1", "127.0.0.1", "std::vector<int>", "a::b",
    # fully masked numbers; image sizes and script fragments
    "010-****-****", "Arrangements-02-768x1154.jpg 768w", "v02-520x260.jpg", "l@6::9;<;83", "010-12x4-5678",
    # road names followed by counters
    "서울 강남구 테헤란로 3분 거리", "서울 강남구 테헤란로 123명이 모였다",
]


@pytest.mark.parametrize("text", STAYS)
def test_stays(text: str) -> None:
    assert _found(text) == []


def test_registration_word_beats_order_label() -> None:
    assert _found("주문자 주민번호 900101-1234568") == [("900101-1234568", "rrn")]


def test_spaced_rrn_needs_context() -> None:
    assert _found("9 0 0 1 0 1 - 1 2 3 4 5 6 8") == []
    assert _found("표: 9OO1O1-l234568") == []
