"""Word lists the verifier reads: number words, units, negations, opposites, names.

Data, not logic: each list is what English questions use for one kind of detail that an
embedding blurs (two questions a few characters apart that want different answers).
"""

from __future__ import annotations

__all__ = [
    "COMPOUND_UNITS",
    "CONTRASTS",
    "MULTIPLIERS",
    "NAMES",
    "NEGATING_PREFIXES",
    "NEGATIONS",
    "NUMBER_WORDS",
    "OPPOSITES",
    "ORDINALS",
    "PLACE_ALIASES",
    "PLACE_PHRASES",
    "SPELLED_UNITS",
    "STARTERS",
    "SYMBOL_NAMES",
    "UNITS",
    "UNIT_AFTER_NUMBER",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "half": 0.5, "twice": 2,
    "double": 2, "triple": 3, "quarter": 0.25, "quarters": 0.25,
}  # fmt: skip
MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
ORDINALS = {
    "first": 1, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
}  # fmt: skip
# "second" is left to the units of time (and to OPPOSITES: first / second).

# Unit spellings -> one name per unit. Any of these counts when it follows a number.
UNITS = {
    **dict.fromkeys(["mm", "millimeter", "millimeters", "millimetre", "millimetres"], "mm"),
    **dict.fromkeys(["cm", "centimeter", "centimeters", "centimetre", "centimetres"], "cm"),
    **dict.fromkeys(["m", "meter", "meters", "metre", "metres"], "m"),
    **dict.fromkeys(["km", "kms", "kilometer", "kilometers", "kilometre", "kilometres"], "km"),
    **dict.fromkeys(["mi", "mile", "miles"], "mi"),
    **dict.fromkeys(["ft", "foot", "feet"], "ft"),
    **dict.fromkeys(["in", "inch", "inches"], "in"),
    **dict.fromkeys(["yd", "yard", "yards"], "yd"),
    **dict.fromkeys(["mg", "milligram", "milligrams"], "mg"),
    **dict.fromkeys(["g", "gram", "grams", "gr"], "g"),
    **dict.fromkeys(["kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"], "kg"),
    **dict.fromkeys(["lb", "lbs", "pound", "pounds"], "lb"),
    **dict.fromkeys(["oz", "ounce", "ounces"], "oz"),
    **dict.fromkeys(["t", "ton", "tons", "tonne", "tonnes"], "t"),
    **dict.fromkeys(["ml", "milliliter", "milliliters", "millilitre", "millilitres"], "ml"),
    **dict.fromkeys(["l", "liter", "liters", "litre", "litres"], "l"),
    **dict.fromkeys(["cup", "cups"], "cup"),
    **dict.fromkeys(["tbsp", "tablespoon", "tablespoons"], "tbsp"),
    **dict.fromkeys(["tsp", "teaspoon", "teaspoons"], "tsp"),
    **dict.fromkeys(["gal", "gallon", "gallons"], "gal"),
    **dict.fromkeys(["pint", "pints"], "pint"),
    **dict.fromkeys(["quart", "quarts"], "quart"),
    **dict.fromkeys(["c", "°c", "celsius", "centigrade"], "°c"),
    **dict.fromkeys(["f", "°f", "fahrenheit"], "°f"),
    **dict.fromkeys(["k", "kelvin"], "kelvin"),
    **dict.fromkeys(["degree", "degrees", "°"], "degree"),
    **dict.fromkeys(["ms", "millisecond", "milliseconds"], "ms"),
    **dict.fromkeys(["s", "sec", "secs", "second", "seconds"], "s"),
    **dict.fromkeys(["min", "mins", "minute", "minutes"], "min"),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours"], "h"),
    **dict.fromkeys(["day", "days"], "day"),
    **dict.fromkeys(["week", "weeks"], "week"),
    **dict.fromkeys(["month", "months"], "month"),
    **dict.fromkeys(["year", "years", "yr", "yrs"], "year"),
    **dict.fromkeys(["b", "byte", "bytes"], "byte"),
    **dict.fromkeys(["kb", "kilobyte", "kilobytes"], "kb"),
    **dict.fromkeys(["mb", "megabyte", "megabytes"], "mb"),
    **dict.fromkeys(["gb", "gigabyte", "gigabytes", "gig", "gigs"], "gb"),
    **dict.fromkeys(["tb", "terabyte", "terabytes"], "tb"),
    **dict.fromkeys(["bit", "bits"], "bit"),
    **dict.fromkeys(["$", "usd", "dollar", "dollars", "bucks"], "usd"),
    **dict.fromkeys(["€", "eur", "euro", "euros"], "eur"),
    **dict.fromkeys(["£", "gbp", "quid"], "gbp"),
    **dict.fromkeys(["¥", "jpy", "yen"], "jpy"),
    **dict.fromkeys(["%", "percent", "pct"], "%"),
    **dict.fromkeys(["mph"], "mph"),
    **dict.fromkeys(["kph", "kmh"], "km/h"),
    **dict.fromkeys(["w", "watt", "watts"], "w"),
    **dict.fromkeys(["kw", "kilowatt", "kilowatts"], "kw"),
    **dict.fromkeys(["kwh"], "kwh"),
    **dict.fromkeys(["kcal", "calorie", "calories", "cal"], "kcal"),
    **dict.fromkeys(["v", "volt", "volts"], "v"),
    **dict.fromkeys(["px", "pixel", "pixels"], "px"),
    **dict.fromkeys(["am", "a.m."], "am"),
    **dict.fromkeys(["pm", "p.m."], "pm"),
    **dict.fromkeys(["x"], "times"),
}

# Spellings that are units even without a number ("convert miles to km"); short or ambiguous
# ones ("in", "m", "s", "am", "second", "pound", "day") count only right after a number.
_AMBIGUOUS = {
    "in", "m", "s", "t", "h", "c", "f", "k", "b", "g", "w", "v", "x", "l", "am", "pm", "gr",
    "second", "seconds", "min", "mins", "day", "days", "week", "weeks", "month", "months",
    "year", "years", "yr", "yrs", "degree", "degrees", "°", "cal", "gig", "gigs", "bit", "bits",
    "pound", "pounds", "cup", "cups", "kilo", "kilos", "ton", "tons", "$", "€", "£", "¥", "%",
    "percent", "pct", "ms", "a.m.", "p.m.", "hour", "hours", "minute", "minutes",
}  # fmt: skip
UNIT_AFTER_NUMBER = UNITS
SPELLED_UNITS = {word: unit for word, unit in UNITS.items() if word not in _AMBIGUOUS}

# Words that turn a question around. "n't" endings are caught by the tokenizer.
NEGATIONS = _words(
    "not no never none nobody nothing nowhere neither nor without cannot cant dont doesnt "
    "didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt aint "
    "unable except excluding"
)
# "unsafe" against "safe", "disable" against "enable", "nonprofit" against "profit".
NEGATING_PREFIXES = ("non", "un", "dis", "in", "im", "il", "ir", "de", "anti", "mis")

# Pairs of words asking opposite things. A pair counts when one question says the first word
# more often than the other question does, and the second word less often.
OPPOSITES = [
    tuple(pair.split("/"))
    for pair in _words(
        "enable/disable enabled/disabled on/off increase/decrease increasing/decreasing "
        "raise/lower max/min maximum/minimum upload/download uploading/downloading import/export "
        "importing/exporting buy/sell buying/selling add/remove adding/removing open/close "
        "opening/closing start/stop starting/stopping encrypt/decrypt compress/decompress "
        "install/uninstall before/after above/below more/less higher/lower faster/slower "
        "bigger/smaller larger/smaller longer/shorter best/worst hot/cold cheap/expensive "
        "cheapest/priciest early/late earliest/latest left/right push/pull send/receive "
        "sending/receiving lock/unlock win/lose gain/lose profit/loss positive/negative true/false "
        "north/south east/west inside/outside input/output read/write reading/writing login/logout "
        "allow/deny accept/reject join/leave merge/split show/hide include/exclude arrive/depart "
        "arrival/departure debit/credit deposit/withdraw hire/fire rise/fall asc/desc "
        "ascending/descending light/dark male/female men/women man/woman boy/girl import/export "
        "upper/lower uppercase/lowercase sync/async synchronous/asynchronous public/private "
        "internal/external plus/minus over/under overweight/underweight overestimate/underestimate "
        "inbound/outbound incoming/outgoing forward/backward forwards/backwards "
        "horizontal/vertical horizontally/vertically wet/dry raw/cooked fresh/frozen legal/illegal "
        "safe/dangerous healthy/unhealthy hard/soft easy/hard weak/strong full/empty high/low "
        "maximize/minimize before/during during/after short/long start/end begin/end beginning/end "
        "boiling/freezing longest/shortest largest/smallest biggest/smallest tallest/shortest "
        "oldest/youngest oldest/newest accept/decline accepting/declining synonym/antonym "
        "online/offline domestic/international first/second squared/cubed multiply/divide "
        "multiplied/divided times/divided inhale/exhale import/export"
    )
]

# Groups of alternatives: when both questions name members of a group, they must name the
# same ones ("feed my dog" is not "feed my cat"; "in June" is not "in July").
# "a=b" makes b another spelling of a.
CONTRASTS = {
    "weekday": "monday tuesday wednesday thursday friday saturday sunday weekday weekend",
    "month": "january february april june july august september october november december",
    "season": "spring summer autumn winter",
    "relative day": "today tomorrow yesterday tonight",
    "order": "first last next previous final",
    "meal": "breakfast brunch lunch dinner supper",
    "time of day": "morning afternoon evening night midnight noon",
    "colour": "red orange yellow green blue purple violet pink brown black white grey gray",
    "animal": "dog dogs puppy cat cats kitten rabbit hamster parrot fish horse bird",
    "relative": "mother=mom=mum father=dad son daughter brother sister wife husband "
    "grandmother=grandma grandfather=grandpa aunt uncle",
    "age": "baby infant toddler child=kid teen=teenager adult senior=elderly",
    "device": "iphone android ipad laptop desktop tablet phone mac pc",
    "diet": "vegan vegetarian keto paleo",
    "meat": "chicken beef pork lamb turkey fish salmon tuna shrimp tofu",
    "grain": "rice pasta quinoa couscous noodles bread",
    "drink": "coffee tea beer wine water juice milk alcohol",
    "size": "small medium large tiny huge",
    "plan": "free basic pro premium enterprise business personal family student",
    "payment": "card cash paypal cheque crypto bitcoin",
    "transport": "car train bus flight ferry bike taxi",
}

# Names that count as named entities in any case ("in python" names Python as surely as "in
# Python"), with a few aliases mapped to one name.
NAMES = {
    **{
        name: name
        for name in _words(
            "python javascript typescript java kotlin scala rust golang ruby php perl haskell "
            "elixir erlang clojure lua dart julia matlab fortran cobol bash zsh powershell sql "
            "mysql postgres postgresql sqlite mongodb redis cassandra elasticsearch kafka rabbitmq "
            "docker kubernetes terraform ansible nginx apache linux ubuntu debian fedora centos "
            "windows macos ios android chrome firefox git github gitlab bitbucket jira excel "
            "powerpoint outlook gmail aws azure gcp react angular vue svelte django flask fastapi "
            "laravel pandas numpy pytorch tensorflow nodejs deno npm pip webpack vite html css "
            "json yaml xml csv toml graphql grpc english french spanish german italian portuguese "
            "chinese mandarin cantonese japanese korean russian arabic hindi dutch swedish "
            "norwegian danish finnish turkish greek hebrew ukrainian vietnamese thai indonesian"
        )
    },
    "js": "javascript",
    "ts": "typescript",
    "py": "python",
    "golang": "go",
    "postgresql": "postgres",
    "k8s": "kubernetes",
    "node": "node",
    "nodejs": "node",
    "kubectl": "kubernetes",
    "cpp": "c++",
    "csharp": "c#",
    "fsharp": "f#",
    "dotnet": ".net",
}
# Spellings with symbols, rewritten to a NAMES word before the text is split into words.
SYMBOL_NAMES = {"c++": "cpp", "c#": "csharp", "f#": "fsharp", ".net": "dotnet", "node.js": "nodejs"}
# Countries and unions by their usual short names; "US" counts only in capitals ("us" is a
# pronoun).
PLACE_ALIASES = {
    "us": "usa", "usa": "usa", "america": "usa", "american": "usa", "americans": "usa",
    "uk": "uk", "britain": "uk", "british": "uk", "eu": "eu",
}  # fmt: skip
PLACE_PHRASES = {"united states": "USA", "united kingdom": "UK", "european union": "EU",
                 "great britain": "UK", "u.s.": "USA", "u.k.": "UK"}  # fmt: skip
# Compound units, rewritten to one word before the text is split.
COMPOUND_UNITS = {"mph": r"(?:miles?|mi)\s*(?:per|an|/)\s*(?:hour|hr|h)",
                  "kmh": r"(?:kilomet(?:er|re)s?|kms?)\s*(?:per|an|/)\s*(?:hour|hr|h)"}  # fmt: skip

# Words that open a sentence in any question; a capitalised first word outside this list may
# be a name ("Paris or Rome in May?") and is kept as a weak entity.
STARTERS = _words(
    "how what why where when who whom whose which can could would should will shall may might "
    "must do does did is are was were be been am have has had please pls plz hey hi hello "
    "i im i'm ive i've id i'd my we our us you your the a an it its this that these those "
    "there here tell give show explain describe help need want list find get make let lets "
    "let's any some if in on at by for to from with about of as best good quick quickly "
    "ok okay so and but or also just whats what's hows how's wheres where's whos who's "
    "thanks thank yes no not is isn't anyone someone somebody anybody all every each "
    "compare calculate convert translate write summarize summarise recommend suggest "
    "define check create generate provide offer fix is there set using use after before "
    "during while since until then now again still really actually basically "
    "guys folks dear urgent question kindly "
    # Imperatives that open requests: a different verb is a paraphrase, not another name.
    "book reserve search display name count compute draft compose send cancel change update "
    "delete remove add reset turn open close install uninstall download upload fetch order "
    "buy sell pay verify repair replace schedule plan cook bake boil fry grill roast prepare "
    "sort filter merge split format parse print read load save export import share invite "
    "join leave contact call email text message teach learn study improve reduce increase "
    "lower raise avoid prevent stop start begin continue keep store clean wash sign log "
    "register subscribe unsubscribe renew upgrade downgrade transfer move copy paste rename "
    "track locate estimate predict tips ideas ways steps looking searching trying wondering "
    "planning thinking going cheap cheapest easy simple fast fastest healthy"
)
