"""DetailVerifier: paraphrases pass, pairs differing in a detail that changes the answer do not."""

from __future__ import annotations

import pytest

from cosmara.semantic import DetailVerifier, Verifier
from cosmara.semantic._details import details

PARAPHRASES = [
    ("How do I reset my password?", "What's the way to reset my password?"),
    ("How do I reset my password?", "how do i reset my password"),
    ("Convert 5 km to miles", "How many miles is five kilometres?"),
    ("What is 15% of 200?", "What is fifteen percent of two hundred?"),
    ("How many grams in a cup of flour?", "How many grams is one cup of flour?"),
    ("How many feet are in a mile?", "How many feet in 1 mile?"),
    ("How much water should I drink a day?", "How many liters of water should I drink per day?"),
    ("Book a table for two at 7pm", "Reserve a table for 2 people at 7 pm"),
    ("Convert 50 mph to km/h", "What is 50 miles per hour in kilometers per hour?"),
    ("What is 100 degrees Fahrenheit in Celsius?", "Convert 100°F to Celsius"),
    ("What is 1/4 as a decimal?", "Write one quarter as a decimal"),
    ("Is a salary of $50k good?", "Is a salary of 50,000 dollars good?"),
    ("Translate 'good morning' into Japanese", "How do I say good morning in Japanese?"),
    ("How do I read a CSV file in Python?", "python: read a csv file"),
    ("How do I check my Node version?", "How can I see my Node.js version?"),
    ("Is C++ faster than Rust?", "is c++ quicker than rust"),
    ("Do I need a visa for Japan as a US citizen?", "As an American, do I need a visa for Japan?"),
    ("How do I connect my printer to Wi-Fi?", "Connecting a printer to wifi"),
    ("How To Reset My Password", "how do i reset my password"),
    ("URGENT: HOW DO I RESET MY PASSWORD", "How do I reset my password?"),
    ("Which one is better, tea or coffee?", "Which is better: tea or coffee?"),
    ("Help me write a birthday message for my mom", "Birthday message for my mother, please"),
    ("How often should I feed my cat?", "How many times a day should I feed my cat?"),
    ("Why won't my laptop turn on?", "Why doesn't my laptop turn on?"),
    ("My verification code never arrived", "I didn't receive the verification code"),
    ("What time zone is Chicago in?", "Chicago is in which time zone?"),
    ("Where's Tokyo's best ramen?", "Best ramen in Tokyo?"),
    ("Recommend a good book about habits", "Can you suggest a good book on habits?"),
    ("Is it OK to leave my laptop plugged in?", "Can I leave my laptop plugged in?"),
    ("waht is the captial of france", "What is the capital of France?"),
]

DIFFERENT = [
    # numbers, written numbers, years, units
    ("Convert 5 km to miles", "Convert 50 km to miles", "numbers"),
    ("Convert 5 km to miles", "Convert 5 miles to km", "numbers"),
    ("What was inflation in 2023?", "What was inflation in 2024?", "numbers"),
    ("Book a table for two", "Book a table for three", "numbers"),
    ("Book a table for two at 7pm", "Book a table for two at 7am", "numbers"),
    ("Can I take 400 mg of ibuprofen?", "Can I take 400 g of ibuprofen?", "numbers"),
    ("How many ounces are in a pound?", "How many ounces are in a kilogram?", "units"),
    ("How many cups are in a liter?", "How many cups are in a gallon?", "units"),
    ("What is 100 °F in Celsius?", "What is 100 °C in Fahrenheit?", "numbers"),
    ("Round pi to two decimals", "Round pi to three decimals", "numbers"),
    ("Who was the 16th president?", "Who was the 17th president?", "numbers"),
    ("Who was the first person on the Moon?", "Who was the third person on the Moon?", "numbers"),
    ("Schedule a cron job every day", "Schedule a cron job every hour", "units"),
    ("What is 12 times 12?", "What is twice 12?", "numbers"),
    # negations
    ("Is ibuprofen safe during pregnancy?", "Is ibuprofen not safe during pregnancy?", "negation"),
    ("Is ibuprofen safe during pregnancy?", "Is ibuprofen unsafe during pregnancy?", "negated"),
    ("Can I take ibuprofen with coffee?", "Can't I take ibuprofen with coffee?", "negation"),
    ("Can I take ibuprofen with coffee?", "I cannot take ibuprofen with coffee, why?", "negation"),
    ("Recipes with eggs", "Recipes without eggs", "negation"),
    ("Has it ever snowed in Cairo?", "Has it never snowed in Cairo?", "negation"),
    ("Is it possible to freeze milk?", "Is it impossible to freeze milk?", "negated"),
    ("How do I install Docker?", "How do I uninstall Docker?", "uninstall"),
    # names: places, people, products, languages, identifiers, quoted strings
    ("Hotels in Paris under $100", "Hotels in Rome under $100", "named"),
    ("Paris or Rome in spring?", "Berlin or Rome in spring?", "names"),
    ("How do I read a CSV file in Python?", "How do I read a CSV file in Rust?", "names"),
    ("How to declare a constant in Go?", "How to declare a constant in Kotlin?", "name"),
    ("Is C++ faster than Java?", "Is C# faster than Java?", "names"),
    ("What does os.path.join do?", "What does os.path.split do?", "code"),
    ("What does `git fetch` do?", "What does `git pull` do?", "code"),
    ("Translate 'good morning' into Spanish", "Translate 'good night' into Spanish", "quoted"),
    ("Translate 'good morning' into Spanish", "Translate 'good morning' into Italian", "names"),
    ("Who wrote Hamlet?", "Who wrote Macbeth?", "named"),
    ("Is the iPhone 15 waterproof?", "Is the Pixel 8 waterproof?", ""),
    ("What's new in Python 3.12?", "What's new in Python 3.11?", "numbers"),
    ("Visa for Japan as a US citizen?", "Do I need a Japan visa as a UK citizen?", "names"),
    ("What does HTTP 404 mean?", "What does HTTP 403 mean?", "numbers"),
    ("Vitamin C benefits", "Vitamin D benefits", "named"),
    # opposites, reversals, alternatives of one kind
    ("How do I enable dark mode?", "How do I disable dark mode?", ""),
    ("Turn off notifications on iPhone", "Turn on notifications on iPhone", "opposite"),
    ("Convert a string to an integer?", "Convert an integer to a string?", "reversed"),
    ("Flights from Lisbon to Madrid", "Flights from Madrid to Lisbon", "reversed"),
    ("How do I increase the heap size?", "How do I decrease the heap size?", "opposite"),
    ("How often should I feed my dog?", "How often should I feed my cat?", "animal"),
    ("Best beaches to visit in summer", "Best beaches to visit in winter", "season"),
    ("Is it going to rain tomorrow?", "Is it going to rain today?", "relative day"),
    ("Write a birthday message for my mom", "Write a birthday message for my dad", "relative"),
    ("What wine goes with chicken?", "What wine goes with beef?", "meat"),
    ("What's the longest river in Asia?", "What's the shortest river in Asia?", "opposite"),
]


@pytest.fixture(scope="module")
def verifier() -> DetailVerifier:
    return DetailVerifier()


def test_is_a_verifier(verifier: DetailVerifier) -> None:
    assert isinstance(verifier, Verifier)


@pytest.mark.parametrize(("a", "b"), PARAPHRASES)
def test_paraphrases_agree(verifier: DetailVerifier, a: str, b: str) -> None:
    assert verifier.disagreement(a, b) is None
    assert verifier.agrees(b, a)


@pytest.mark.parametrize(("a", "b", "reason"), DIFFERENT)
def test_a_different_detail_disagrees(
    verifier: DetailVerifier, a: str, b: str, reason: str
) -> None:
    forward, backward = verifier.disagreement(a, b), verifier.disagreement(b, a)
    assert forward is not None
    assert backward is not None
    assert reason in forward
    assert not verifier.agrees(a, b)


def test_the_same_text_agrees_without_reading_it(verifier: DetailVerifier) -> None:
    assert verifier.agrees("Convert 5 KM to miles ", "convert 5 km to miles")


def test_details_read_numbers_with_units() -> None:
    found = details("Is $50k for 3 cups of flour and two hundred and five grams at 7pm fine?")
    assert found.numbers == tuple(
        sorted([("50000", "usd"), ("3", "cup"), ("205", "g"), ("7", "pm")])
    )


def test_details_read_names_with_their_case() -> None:
    found = details("Paris hotels near the Louvre: can I pay with PayPal in EUR via the_api?")
    assert found.weak == {"paris"}
    assert {"louvre", "paypal", "the_api"} <= found.entities
    assert "eur" in found.entities or "eu" in found.names or "eur" in found.units
    lowered = details("in python, what does paris mean")
    assert lowered.names == {"python"}
    assert "paris" not in lowered.entities


def test_seen_texts_are_bounded() -> None:
    verifier = DetailVerifier(cache_size=3)
    for number in range(10):
        verifier.agrees(f"question {number}", "the cached question")
    assert len(verifier._seen) == 3
    assert not DetailVerifier(cache_size=0)._seen
