"""English vocabulary and sentence templates for the demo sample."""

from __future__ import annotations

VOCAB: dict[str, list[str]] = {
    "city": ["Portland", "Austin", "Leeds", "Melbourne", "Toronto", "Dublin", "Denver", "Glasgow", "Auckland",
             "Vancouver", "Bristol", "Pittsburgh", "Seoul", "Busan", "Boston", "Adelaide"],
    "name": ["Emma Collins", "Liam Turner", "Olivia Grant", "Noah Patel", "Ava Brooks", "Ethan Murphy",
             "Sophie Hayes", "Lucas Reid", "Grace Kim", "Daniel Park", "Hannah Wright", "Owen Fischer"],
    "company": ["Northwind Labs", "Brightline Systems", "Cedar Analytics", "Harbor Robotics", "Bluepeak Energy",
                "Tidewater Foods", "Juniper Networks Group", "Summit Mobility", "Lumen Data"],
    "product": ["wireless earbuds", "standing desk", "air purifier", "mechanical keyboard", "espresso machine",
                "robot vacuum", "e-reader", "camping stove", "smartwatch", "portable monitor"],
    "food": ["shakshuka", "chicken curry", "banana bread", "minestrone soup", "beef stir-fry", "lemon risotto",
             "vegetable lasagna", "fish tacos", "pancakes", "kimchi fried rice"],
    "ingr": ["onions", "garlic", "carrots", "bell peppers", "spinach", "mushrooms", "chickpeas", "tomatoes",
             "potatoes", "zucchini", "ginger", "fresh basil"],
    "tech": ["machine learning", "cloud computing", "edge devices", "open-source databases", "quantum sensors",
             "speech recognition", "battery chemistry", "chip design", "large language models"],
    "issue": ["housing costs", "youth unemployment", "public transit ridership", "energy prices",
              "small business closures", "tourism revenue", "childcare costs", "broadband access"],
    "spot": ["the old harbour", "the botanical gardens", "the riverside market", "the cathedral quarter",
             "the coastal trail", "the national museum", "the hilltop lookout"],
    "season": ["spring", "summer", "autumn", "winter"],
    "feature": ["battery life", "build quality", "noise level", "setup process", "companion app"],
}

TOPICS: dict[str, str] = {"news": "", "blog": "", "review": "", "recipe": "", "travel": "", "tech": ""}

TITLES: dict[str, list[str]] = {
    "news": ["{city} council weighs new plan on {issue}", "{issue} rise {pct}% in {city}, report finds",
             "Residents of {city} split over {issue} proposal"],
    "blog": ["A slow weekend in {city}", "What I learned from a month of early mornings", "Notes from {city}"],
    "review": ["{company} {product} review: six weeks later", "Is the {product} worth it?",
               "Honest review of the {product}"],
    "recipe": ["Easy weeknight {food}", "The only {food} recipe you need", "{food} in {n2} minutes"],
    "travel": ["Three days in {city}", "A {season} trip to {city}", "{city} on a budget"],
    "tech": ["{company} bets on {tech}", "Why {tech} is suddenly everywhere", "{company} unveils new {tech} tools"],
}

SENTENCES: dict[str, list[str]] = {
    "news": [
        "The {city} city council voted on Tuesday to study new measures on {issue}.",
        "According to a report released this week, {issue} rose {pct}% compared with last year.",
        "\"We cannot wait another year to act,\" said {name}, who chairs the local committee.",
        "Critics argue that the proposal does not go far enough.",
        "The plan would cost an estimated {n2} million dollars over five years.",
        "Local businesses have so far given the idea a cautious welcome.",
        "A public consultation will run until the end of next month.",
        "Similar programmes in other cities have produced mixed results.",
        "Officials said a final decision is expected before the summer recess.",
        "Some residents told reporters they had not heard about the plan at all.",
        "The opposition called for an independent review of the figures.",
        "Economists note that the trend began well before the pandemic.",
        "The proposal will be debated again at next month's meeting.",
        "Turnout at the public hearing was higher than expected.",
        "The mayor's office declined to comment on the timeline.",
        "Figures from the statistics office show a similar pattern nationwide.",
        "Several community groups have launched a petition.",
        "Funding would come partly from the regional budget.",
    ],
    "blog": [
        "I finally had a free weekend, so I took the train to {city}.",
        "The weather was grey in the morning but cleared up by lunch.",
        "I spent most of the afternoon wandering around {spot} without a plan.",
        "Lunch was a bowl of {food} at a tiny place near the station.",
        "I have been trying to write a little every day, and it is harder than it sounds.",
        "Honestly, the best part of the trip was doing nothing for a few hours.",
        "If you ever visit, bring comfortable shoes and a light jacket.",
        "I took far too many photos, so here are just a few of my favourites.",
        "Next month I want to try the same thing in {city2}.",
        "Thanks for reading, and let me know in the comments what you would add.",
        "My phone battery died halfway through the day, which turned out to be a blessing.",
        "On the way home I picked up a secondhand book and read half of it on the train.",
        "I wrote most of this post in a café by the river.",
        "It rained for about an hour, so I hid in a bookshop.",
        "The town was much quieter than I expected.",
        "I still have not decided whether I liked it more than last year.",
        "Dinner was simple: bread, cheese and a bowl of soup.",
        "I slept better that night than I have in weeks.",
    ],
    "review": [
        "I bought the {company} {product} about six weeks ago and have used it almost every day.",
        "It cost {usd} dollars, which is fair for what you get.",
        "Setup took less than ten minutes.",
        "The {feature} is the standout feature and clearly better than on the previous model.",
        "My main complaint is the {feature2}, which feels like an afterthought.",
        "Customer support answered my question within a day.",
        "Compared with similar products in this price range, it holds up well.",
        "I would give it {stars} out of five stars.",
        "If you can find it on sale, it is an easy recommendation.",
        "The packaging was minimal and mostly recyclable, which I appreciated.",
        "After a month of daily use there are no signs of wear.",
        "It is not perfect, but it does the basics very well.",
        "The instructions were clear, though the print was tiny.",
        "Battery life easily lasts a full working day.",
        "It is noticeably lighter than the model it replaces.",
        "The app asks for more permissions than it needs.",
        "Returns are free within thirty days, which is reassuring.",
        "A friend bought the same model and had the same experience.",
    ],
    "recipe": [
        "This {food} is one of my go-to dinners when I am short on time.",
        "Start by chopping the {ingr} and the {ingr2} into small pieces.",
        "Heat a tablespoon of oil in a large pan over medium heat.",
        "Add the {ingr3} and cook for {n} minutes, stirring often.",
        "Season with salt and pepper, then taste and adjust.",
        "Let it simmer gently for about {n2} minutes.",
        "If you like it spicy, add a pinch of chilli flakes at the end.",
        "Leftovers keep well in the fridge for up to three days.",
        "This recipe serves {n} people, but it is easy to double.",
        "Serve it warm with crusty bread or a simple green salad.",
        "You can swap the {ingr2} for whatever vegetables you have on hand.",
        "Do not skip the resting time; it makes a real difference.",
        "Toast the spices in a dry pan for a minute before adding them.",
        "A squeeze of lemon at the end brightens everything.",
        "If the sauce gets too thick, add a splash of water.",
        "I like to make a double batch and freeze half.",
        "Use a heavy pan so nothing burns on the bottom.",
        "Kids usually love this one, especially with extra cheese.",
    ],
    "travel": [
        "{city} is at its best in {season}, when the crowds thin out.",
        "We spent the first morning exploring {spot}.",
        "Entry costs {usd} dollars for adults, and children go free.",
        "The public transport network is easy to use, so you do not need a car.",
        "Our guesthouse was a {n2}-minute walk from the centre.",
        "The food market is worth a visit even if you are not hungry.",
        "On the second day we took a day trip to {city2}.",
        "Sunset from {spot2} was the highlight of the trip.",
        "Book restaurants in advance if you are visiting at the weekend.",
        "Three days felt just about right for a first visit.",
        "Locals were friendly and happy to give directions.",
        "Bring a refillable water bottle; there are fountains everywhere.",
        "The old town is small enough to explore on foot in an afternoon.",
        "We rented bikes for a day and rode along the waterfront.",
        "Prices at the harbour cafés are higher, so walk one street back.",
        "The museum is free on the first Sunday of the month.",
        "Trains to {city2} leave every half hour.",
        "The weather changes quickly, so pack layers.",
    ],
    "tech": [
        "{company} announced on Monday that it is investing heavily in {tech}.",
        "The company says the new system is {pct}% faster than its predecessor.",
        "Analysts expect the market for {tech} to grow steadily through {fyear}.",
        "\"We focused on making it simple for developers,\" said {name}, the company's chief technology officer.",
        "Developers can try the new API through a free tier.",
        "Privacy advocates have raised questions about how user data will be handled.",
        "Competitors are expected to respond with similar products later this year.",
        "Energy consumption remains the main challenge for the technology.",
        "Early users report noticeably better accuracy on everyday tasks.",
        "The rollout will start in a handful of countries before expanding.",
        "Shortages of specialised chips continue to slow down deployment.",
        "The source code for several components has been published under an open licence.",
        "The company did not disclose how much the project cost.",
        "Shares rose slightly after the announcement.",
        "Regulators in several countries are watching closely.",
        "The update will be rolled out automatically over the next few weeks.",
        "Independent researchers have not yet been able to verify the claims.",
        "A beta version has been available to testers since the spring.",
    ],
}

GENERIC: dict[str, list[str]] = {"": [
    "It remains to be seen how things will develop.",
    "For now, the early signs are encouraging.",
    "That said, not everyone is convinced.",
    "Time will tell whether the change lasts.",
    "Readers have been quick to share their own experiences.",
    "Not all of the details have been confirmed.",
    "This is only part of a much larger picture.",
]}

CLOSERS: dict[str, list[str]] = {"": [
    "More details are expected in the coming weeks.",
    "We will update this article as more information becomes available.",
    "Thanks for reading.",
]}

PII_SENTENCES: list[tuple[str, str]] = [
    ("email", "For questions, email {name} at {email}."),
    ("phone_mobile", "You can reach our Seoul contact on {phone_mobile}."),
    ("phone_landline", "The Seoul office can be reached at {phone_landline} during business hours."),
    ("ip", "The suspicious login came from {ip}, according to the server logs."),
]
TRAP_SENTENCES: list[tuple[str, str]] = [
    ("version", "The update requires version {version} or later."),
    ("date", "The offer runs from {date} until {date2}."),
    ("order_no", "Your order {order_no} has shipped."),
]

NAV = ["Home", "News", "Opinion", "Culture", "Travel", "Food", "Tech", "About", "Contact"]
SIDEBAR_TITLES = ["Most read", "Related posts", "Trending now", "Editor's picks"]
COOKIE_BANNER = ("We use cookies to improve your experience and to show you relevant content. "
                 "By continuing to browse, you agree to our use of cookies.")
COOKIE_BUTTONS = ["Accept all", "Manage preferences"]
FOOTER_LINKS = ["About us", "Privacy policy", "Terms of use", "Advertise", "Careers", "Contact"]
COPYRIGHT = "© {year} {site}. All rights reserved."
SITE_WORDS = ["Harbor", "Maple", "Granite", "Copper", "Willow", "Northern", "Lantern", "Orchard"]
SITE_KINDS = {"news": [" Gazette", " Times", " Post"], "blog": [" Notes", " Journal"], "shop": [" Store"],
              "community": [" Forum"], "gov": [" City Hall"]}
LINK_ANCHORS = ["Home", "Read more", "Archive", "Login", "Sign up", "Sitemap", "Next page", "Categories", "Tags"]
SHORT_PAGES = ["Page under construction", "Coming soon!", "This page has moved.", "Access denied"]
COMMENTS = ["Great post, thanks!", "Bookmarked for later.", "I tried this and it worked.", "Nice photos!"]
