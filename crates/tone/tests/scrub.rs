//! Scrubbing vectors: prices and dates out, everything else untouched.

use inkdesk_tone::scrub;

#[track_caller]
fn check(input: &str, expected: &str) {
    assert_eq!(scrub(input), expected, "input: {input}");
}

#[test]
fn amounts_with_a_currency_become_price() {
    check("Το κόστος είναι 150€", "Το κόστος είναι [price]");
    check("150 ευρώ μαζί με το σχέδιο", "[price] μαζί με το σχέδιο");
    check("θα ήταν 150 ευρω", "θα ήταν [price]");
    check(
        "Around 100-150 euros for that size",
        "Around [price] for that size",
    );
    check("It's €40 for a small one", "It's [price] for a small one");
    check("100€ - 150€ ανάλογα", "[price] ανάλογα");
    check("40 ή 45 ευρώ", "[price]");
    check("90 EUR cash", "[price] cash");
    check("12,50€ το ένα", "[price] το ένα");
}

#[test]
fn bare_amounts_in_price_context_become_price() {
    check(
        "Η τιμή θα είναι 180 με 220 ανάλογα το μέγεθος",
        "Η τιμή θα είναι [price] ανάλογα το μέγεθος",
    );
    check("40 τον καθένα", "[price] τον καθένα");
    check("Θα σας κάνει 80 μετρητά", "Θα σας κάνει [price] μετρητά");
    check(
        "The price would be 120 for both",
        "The price would be [price] for both",
    );
    check(
        "Τιμή 60/65 για το μικρό. Το σχέδιο είναι 15 εκατοστά",
        "Τιμή [price] για το μικρό. Το σχέδιο είναι 15 εκατοστά",
    );
}

#[test]
fn dates_become_time_with_or_without_accents() {
    check("Έχουμε 19 Νοεμβρίου", "Έχουμε [time]");
    check("Έχουμε 19 Νοεμβριου", "Έχουμε [time]");
    check("ΠΑΡΑΣΚΕΥΗ 19 ΝΟΕΜΒΡΙΟΥ", "ΠΑΡΑΣΚΕΥΗ [time]");
    check("Μπορούμε 3 Μάη", "Μπορούμε [time]");
    check("Σας περιμένουμε 24 του μηνός", "Σας περιμένουμε [time]");
    check("24 του μηνα είμαστε κλειστά", "[time] είμαστε κλειστά");
    check("We have 19 November free", "We have [time] free");
    check("How about November 19th?", "How about [time]?");
    check("Κλείσαμε για 19/11/2024", "Κλείσαμε για [time]");
    check("ok για 19/11", "ok για [time]");
}

#[test]
fn clock_times_become_time() {
    check("Ραντεβού στις 18:00", "Ραντεβού στις [time]");
    check(
        "Μπορείτε να έρθετε στις 5 μ.μ.",
        "Μπορείτε να έρθετε στις [time]",
    );
    check("στις 11 π.μ. είμαστε εδώ", "στις [time] είμαστε εδώ");
    check("Friday at 5pm works", "Friday at [time] works");
    check(
        "Ελάτε το απόγευμα για το ραντεβού",
        "Ελάτε [time] για το ραντεβού",
    );
    check(
        "Την Τρίτη στις 5 είναι ελεύθερο",
        "Την Τρίτη στις [time] είναι ελεύθερο",
    );
    check("Can you come at 5?", "Can you come at [time]?");
    check(
        "Ραντεβού Παρασκευή 19 Νοεμβρίου στις 18.30",
        "Ραντεβού Παρασκευή [time] στις [time]",
    );
}

#[test]
fn text_without_prices_or_dates_is_unchanged() {
    for text in [
        "θέλω tattoo 10 πόντους",
        "Θέλεις 2 σχέδια ή 1;",
        "Ραντεβού έχουμε Παρασκευή",
        "Στείλτε μας μια φωτογραφία και το μέγεθος σε εκατοστά",
        "Η συνεδρία κρατάει 2 ώρες",
        "Ο Νίκος έχει κάνει πάνω από 100 τατουάζ",
        "Το σχέδιο θα είναι περίπου 10x15 εκατοστά",
        "We're open Monday to Saturday",
        "The price depends on the size in cm, 10 cm is small",
        "Ευχαριστούμε πολύ ❤️🐼",
        "Το απόγευμα είναι όμορφο στην Αθήνα",
        "Πρέπει να είστε 18 ετών με ταυτότητα",
    ] {
        check(text, text);
    }
}

#[test]
fn phone_numbers_and_emails_become_placeholders() {
    use inkdesk_tone::scrub::scrub_personal;
    assert_eq!(
        scrub_personal("Το κινητό μου 6912345678, ευχαριστώ"),
        "Το κινητό μου [phone], ευχαριστώ"
    );
    assert_eq!(
        scrub_personal("call +30 691 234 5678 please"),
        "call [phone] please"
    );
    assert_eq!(scrub_personal("ή (210) 123-4567"), "ή [phone]");
    assert_eq!(scrub_personal("maria.p@example.gr"), "[email]");
    assert_eq!(
        scrub("Στείλτε στο studio@example.com"),
        "Στείλτε στο [email]"
    );
    // Short numbers are not phones.
    assert_eq!(
        scrub_personal("θέλω tattoo 10 πόντους"),
        "θέλω tattoo 10 πόντους"
    );
    assert_eq!(scrub_personal("2024"), "2024");
}
