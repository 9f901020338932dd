//! The calendar pages' Greek and English text, kept beside the pages that use them (the
//! console's [`super::super::i18n::Lang::texts`] serves them with its own), and the
//! studio's rule refusals in Greek: [`ValidationError`]'s own messages are English.

use inkdesk_domain::ValidationError;

use super::super::i18n::Lang;

/// (key, Greek, English).
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("week", "Εβδομάδα", "Week"),
    ("closures", "Κλεισίματα", "Closures"),
    ("previous_week", "← Προηγούμενη", "← Previous"),
    ("next_week", "Επόμενη →", "Next →"),
    ("this_week", "Αυτή η εβδομάδα", "This week"),
    ("time_zone", "Ζώνη ώρας", "Time zone"),
    ("artist", "Καλλιτέχνης", "Artist"),
    ("any_artist", "Όποιος είναι ελεύθερος", "Whoever is free"),
    ("no_artist", "Χωρίς καλλιτέχνη", "No artist"),
    ("all_bookings", "Όλα τα ραντεβού", "All bookings"),
    ("free_day", "—", "—"),
    ("closed", "Κλειστά", "Closed"),
    ("new_booking", "Νέο ραντεβού", "New booking"),
    ("book", "Κλείσιμο ραντεβού", "Book"),
    (
        "book_for_customer",
        "Νέο ραντεβού για αυτόν τον πελάτη",
        "New booking for this customer",
    ),
    ("date", "Ημερομηνία", "Date"),
    ("time", "Ώρα", "Time"),
    ("from_date", "Από", "From"),
    ("to_date", "Έως (μαζί)", "To (inclusive)"),
    ("reason", "Αιτία", "Reason"),
    (
        "length_help",
        "Δώστε διάρκεια ή τιμή· από την τιμή βγαίνει η διάρκεια.",
        "Give a duration or a price; a price gives the duration.",
    ),
    ("price_eur", "Τιμή (€)", "Price (€)"),
    (
        "conversation_optional",
        "Συνομιλία Instagram (προαιρετικά, για να τη βλέπει ο βοηθός)",
        "Instagram conversation (optional, so the assistant knows it)",
    ),
    ("move", "Μετακίνηση", "Move"),
    ("move_booking", "Μετακίνηση ραντεβού", "Move booking"),
    (
        "move_help",
        "Νέα ώρα· αφήστε κενή τη διάρκεια για να μείνει ίδια.",
        "The new time; leave the duration empty to keep it.",
    ),
    ("move_yes", "Μετακίνηση", "Move it"),
    ("cancel_booking", "Ακύρωση ραντεβού", "Cancel booking"),
    (
        "cancel_booking_confirm",
        "Να ακυρωθεί αυτό το ραντεβού; Η ώρα ελευθερώνεται αμέσως και ο βοηθός μπορεί να την προσφέρει. Ο πελάτης δεν ειδοποιείται αυτόματα.",
        "Cancel this booking? Its time is free at once and the assistant may offer it. The customer is not told automatically.",
    ),
    ("cancel_booking_yes", "Ναι, ακύρωση", "Yes, cancel it"),
    ("keep_booking", "Όχι, να μείνει", "No, keep it"),
    ("booked_notice", "Το ραντεβού κλείστηκε.", "Booked."),
    ("moved_notice", "Το ραντεβού μετακινήθηκε.", "Moved."),
    ("cancelled_notice", "Το ραντεβού ακυρώθηκε.", "Cancelled."),
    (
        "closure_added",
        "Το κλείσιμο καταχωρήθηκε.",
        "Closure added.",
    ),
    (
        "closure_removed",
        "Το κλείσιμο αφαιρέθηκε.",
        "Closure removed.",
    ),
    (
        "slot_taken",
        "Η ώρα δεν είναι πια ελεύθερη.",
        "That time is no longer free.",
    ),
    (
        "slot_taken_pick",
        "Ελεύθερες ώρες αντί γι' αυτή (ένα πάτημα κλείνει με τα ίδια στοιχεία):",
        "Free times instead (one click books with the same details):",
    ),
    (
        "slot_taken_none",
        "Δεν βρέθηκε άλλη ελεύθερη ώρα τις επόμενες ημέρες.",
        "No other free time in the next days.",
    ),
    (
        "away_artist",
        "{name}: απουσία εκείνη την ημέρα",
        "{name} is away that day",
    ),
    (
        "away_studio",
        "Το στούντιο είναι κλειστό εκείνη την ημέρα",
        "The studio is closed that day",
    ),
    ("whole_studio", "Όλο το στούντιο", "Whole studio"),
    ("add_closure", "Προσθήκη κλεισίματος", "Add closure"),
    ("remove", "Αφαίρεση", "Remove"),
    (
        "no_closures",
        "Κανένα κλείσιμο από σήμερα και μετά.",
        "No closures from today on.",
    ),
    (
        "from_profile",
        "από το προφίλ του στούντιο (αλλάζει εκεί)",
        "from the studio profile (edited there)",
    ),
    (
        "closure_help",
        "Ο βοηθός λέει στους πελάτες ότι το στούντιο (ή ο καλλιτέχνης) λείπει και δεν κλείνει ραντεβού εκείνες τις ημέρες. Όσα ραντεβού έχουν ήδη κλειστεί μένουν.",
        "The assistant tells customers the studio (or the artist) is away and books nothing on those days. Bookings already made stay.",
    ),
    ("field_name", "Όνομα", "Name"),
    ("field_phone", "Τηλέφωνο", "Phone"),
    ("field_date", "Ημερομηνία", "Date"),
    ("field_time", "Ώρα", "Time"),
    ("field_duration", "Διάρκεια", "Duration"),
    ("field_price", "Τιμή", "Price"),
    ("field_design", "Σχέδιο", "Design"),
    ("field_artist", "Καλλιτέχνης", "Artist"),
    ("field_conversation", "Συνομιλία", "Conversation"),
    ("field_booking", "Ραντεβού", "Booking"),
    ("field_closure", "Κλείσιμο", "Closure"),
    ("field_from", "Από", "From"),
    ("field_to", "Έως", "To"),
    ("field_reason", "Αιτία", "Reason"),
    ("field_week", "Εβδομάδα", "Week"),
    ("missing", "λείπει", "is missing"),
    (
        "need_length",
        "δώστε διάρκεια σε λεπτά ή τιμή",
        "give a duration in minutes or a price",
    ),
    (
        "unknown_artist",
        "το στούντιο δεν έχει τέτοιον καλλιτέχνη",
        "the studio has no such artist",
    ),
    (
        "to_before_from",
        "η τελευταία ημέρα είναι πριν από την πρώτη",
        "the last day is before the first",
    ),
    (
        "reason_too_long",
        "η αιτία είναι πάνω από 200 χαρακτήρες",
        "the reason is longer than 200 characters",
    ),
    (
        "not_a_number",
        "δεν είναι αριθμός λεπτών",
        "is not a number of minutes",
    ),
    (
        "no_such_booking",
        "δεν υπάρχει τέτοιο ραντεβού",
        "no such booking",
    ),
    (
        "booking_gone",
        "το ραντεβού έχει ήδη ακυρωθεί",
        "the booking was already cancelled",
    ),
    (
        "no_such_closure",
        "δεν υπάρχει τέτοιο κλείσιμο (όσα είναι στο προφίλ αλλάζουν εκεί)",
        "no such closure (those in the studio profile are edited there)",
    ),
    (
        "calendar_failed",
        "Το ημερολόγιο δεν απάντησε· δεν άλλαξε τίποτα. Δοκιμάστε ξανά.",
        "The calendar did not answer; nothing was changed. Try again.",
    ),
];

/// The text under `key` in `lang` (the key itself when unknown, which the tests rule out).
pub fn text(lang: Lang, key: &'static str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or(key, |(_, el, en)| if lang == Lang::El { el } else { en })
}

/// A refusal of the studio's rules (or of a value's form) in plain words of `lang`.
pub fn validation(error: &ValidationError, lang: Lang) -> String {
    if lang == Lang::En {
        return error.to_string();
    }
    use ValidationError as V;
    match error {
        V::Phone => "ο αριθμός δεν είναι έγκυρος· γράψτε ολόκληρο αριθμό κινητού ή σταθερού".into(),
        V::NameCharacters => {
            "το όνομα μπορεί να έχει μόνο γράμματα, κενά, απόστροφους, παύλες και τελείες".into()
        }
        V::NameLength => "το όνομα πρέπει να έχει από 2 έως 100 χαρακτήρες".into(),
        V::DateFormat => "η ημερομηνία γράφεται ΕΕΕΕ-ΜΜ-ΗΗ, π.χ. 2026-12-08".into(),
        V::TimeFormat => "η ώρα γράφεται ΩΩ:ΛΛ σε 24ωρη μορφή, π.χ. 14:30".into(),
        V::DateInPast => "η ημερομηνία έχει περάσει".into(),
        V::TooSoon { minutes } => {
            format!("τα ραντεβού θέλουν τουλάχιστον {minutes} λεπτά από τώρα")
        }
        V::BeyondHorizon { days } => {
            format!("ραντεβού κλείνονται έως {days} ημέρες μπροστά")
        }
        V::ClosedDay => "το στούντιο είναι κλειστό εκείνη την ημέρα".into(),
        V::OutsideHours { hours } => {
            format!("εκείνη την ημέρα το στούντιο είναι ανοιχτό {hours}")
        }
        V::EndsAfterClosing { close } => {
            format!("το ραντεβού θα τελείωνε μετά το κλείσιμο ({close})")
        }
        V::UnknownArtist { key } => format!("το στούντιο δεν έχει καλλιτέχνη «{key}»"),
        V::NonexistentLocalTime => {
            "αυτή η ώρα δεν υπάρχει εκείνη την ημέρα λόγω αλλαγής ώρας".into()
        }
        V::Duration { max_minutes } => {
            format!("η διάρκεια πρέπει να είναι από 1 έως {max_minutes} λεπτά")
        }
        V::Price { max } => format!("η τιμή πρέπει να είναι θετικό ποσό έως {max}"),
        V::EventId => "ο κωδικός δεν είναι έγκυρος".into(),
        V::TextLength { max } => format!("το κείμενο πρέπει να έχει από 1 έως {max} χαρακτήρες"),
        V::ConversationId => "ο κωδικός συνομιλίας δεν είναι έγκυρος".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_and_no_key_clashes_with_the_consoles() {
        for (key, el, en) in TEXTS {
            assert!(!el.is_empty() && !en.is_empty(), "{key}");
            assert_eq!(
                TEXTS.iter().filter(|(k, _, _)| k == key).count(),
                1,
                "{key} twice"
            );
        }
        // The console's own table must not define the same keys (the later would win).
        let console = Lang::El.texts();
        let own: std::collections::BTreeSet<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        assert_eq!(
            console.len(),
            super::super::super::i18n::console_text_count() + own.len(),
            "a calendar text key is also one of the console's"
        );
    }

    #[test]
    fn rule_refusals_read_in_greek() {
        let refusal = ValidationError::TooSoon { minutes: 120 };
        assert_eq!(
            validation(&refusal, Lang::El),
            "τα ραντεβού θέλουν τουλάχιστον 120 λεπτά από τώρα"
        );
        assert_eq!(
            validation(&refusal, Lang::En),
            "appointments need at least 120 minutes' notice"
        );
    }
}
