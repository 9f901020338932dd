//! Greek and English UI text. Greek is the default; `?lang=en` (remembered in a cookie)
//! or an `Accept-Language` starting with `en` switches to English.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

/// Name of the language cookie.
pub const LANG_COOKIE: &str = "inkdesk_lang";

/// The console's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Greek.
    El,
    /// English.
    En,
}

impl Lang {
    /// `el` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::El => "el",
            Lang::En => "en",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        match code.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("el") => Some(Lang::El),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The query's `lang`, then the cookie, then `Accept-Language`, then Greek.
    pub fn pick(query: Option<&str>, headers: &HeaderMap) -> Self {
        query
            .and_then(Lang::parse)
            .or_else(|| super::auth::cookie(headers, LANG_COOKIE).and_then(Lang::parse))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .and_then(Lang::parse)
            })
            .unwrap_or(Lang::El)
    }

    /// Every UI string in this language, by key.
    pub fn texts(self) -> BTreeMap<&'static str, &'static str> {
        TEXTS
            .iter()
            .chain(super::calendar::texts::TEXTS)
            .map(|(key, el, en)| (*key, if self == Lang::El { *el } else { *en }))
            .collect()
    }
}

/// How many texts the console's own table holds (the calendar pages' test checks that no
/// key of theirs repeats one of these).
#[cfg(test)]
pub(super) fn console_text_count() -> usize {
    TEXTS.len()
}

/// (key, Greek, English).
const TEXTS: &[(&str, &str, &str)] = &[
    ("title", "Κονσόλα inkdesk", "inkdesk console"),
    ("inbox", "Εισερχόμενα", "Inbox"),
    ("bookings", "Ραντεβού", "Bookings"),
    // A booking's lifecycle (the deposit flow).
    (
        "status_pending_deposit",
        "Αναμένει προκαταβολή",
        "Waiting for the deposit",
    ),
    ("status_confirmed", "Επιβεβαιωμένο", "Confirmed"),
    ("status_completed", "Ολοκληρώθηκε", "Completed"),
    ("status_no_show", "Δεν ήρθε", "No-show"),
    ("deposit", "Προκαταβολή", "Deposit"),
    ("held_until", "κρατείται έως", "held until"),
    (
        "deposit_received",
        "Η προκαταβολή ελήφθη",
        "Deposit received",
    ),
    ("traces", "Ίχνη", "Traces"),
    ("status", "Κατάσταση", "Status"),
    ("login", "Σύνδεση", "Log in"),
    ("logout", "Αποσύνδεση", "Log out"),
    ("token", "Κωδικός διαχείρισης", "Admin token"),
    ("login_failed", "Λάθος κωδικός.", "Wrong token."),
    (
        "login_unavailable",
        "Η αποθήκευση δεν απαντά· δοκιμάστε ξανά σε λίγο.",
        "The store is not answering; try again shortly.",
    ),
    (
        "login_limited",
        "Πολλές προσπάθειες· δοκιμάστε σε ένα λεπτό.",
        "Too many attempts; try again in a minute.",
    ),
    ("customer", "Πελάτης", "Customer"),
    ("assistant", "Βοηθός", "Assistant"),
    ("staff", "Στούντιο", "Studio"),
    ("tool", "Εργαλείο", "Tool"),
    ("last_activity", "Τελευταία δραστηριότητα", "Last activity"),
    ("state_bot", "Απαντά ο βοηθός", "Bot answers"),
    ("state_muted", "Σίγαση έως", "Muted until"),
    (
        "state_handed_off",
        "Παραδόθηκε σε άνθρωπο",
        "Handed to a person",
    ),
    (
        "state_awaiting_confirmation",
        "Περιμένει επιβεβαίωση αλλαγής ραντεβού",
        "Awaiting confirmation of a booking change",
    ),
    (
        "state_needs_person",
        "Αναπάντητο πάνω από 24 ώρες: απαντά μόνο άνθρωπος",
        "Unanswered for over 24 h: only a person may reply",
    ),
    (
        "state_paused",
        "Ο βοηθός είναι σε παύση",
        "Assistant paused",
    ),
    (
        "no_conversations",
        "Καμία συνομιλία ακόμη.",
        "No conversations yet.",
    ),
    ("mute_hours", "Σίγαση για ώρες", "Mute for hours"),
    ("mute", "Σίγαση", "Mute"),
    ("unmute", "Άρση σίγασης", "Unmute"),
    ("reply", "Απάντηση στούντιο", "Studio reply"),
    ("send", "Αποστολή", "Send"),
    (
        "human_agent_note",
        "Πέρασαν 24 ώρες από το τελευταίο μήνυμα του πελάτη: η απάντηση φεύγει με την ετικέτα HUMAN_AGENT (έως 7 ημέρες).",
        "More than 24 hours since the customer's last message: the reply is sent with the HUMAN_AGENT tag (up to 7 days).",
    ),
    (
        "window_standard",
        "Παράθυρο απάντησης (24 ώρες)",
        "Reply window (24 hours)",
    ),
    (
        "window_human_agent",
        "Παράθυρο HUMAN_AGENT (7 ημέρες)",
        "HUMAN_AGENT window (7 days)",
    ),
    ("window_open", "ανοιχτό, απομένουν", "open, time left"),
    ("window_until", "έως", "until"),
    ("window_closed", "έκλεισε στις", "closed at"),
    (
        "window_never",
        "ο πελάτης δεν έχει γράψει ακόμη",
        "the customer has not written yet",
    ),
    ("hours_short", "ώρ.", "h"),
    ("minutes_short", "λεπ.", "min"),
    (
        "window_no_reply",
        "Το Instagram δεν επιτρέπει απάντηση τώρα: έχουν περάσει 7 ημέρες από το τελευταίο μήνυμα του πελάτη ή δεν έχει γράψει ποτέ.",
        "Instagram allows no reply now: the customer's last message is more than 7 days old, or they never wrote.",
    ),
    (
        "no_messenger",
        "Δεν έχει οριστεί IG_USER_ACCESS_TOKEN· δεν μπορούν να σταλούν μηνύματα.",
        "IG_USER_ACCESS_TOKEN is not set; messages cannot be sent.",
    ),
    ("delete", "Διαγραφή όλων", "Delete everything"),
    (
        "delete_confirm",
        "Να διαγραφούν οριστικά όλα τα στοιχεία αυτής της συνομιλίας (ιστορικό, ίχνη, αναμονή, σίγαση); Στα ραντεβού του πελάτη (παλιά και επόμενα) σβήνονται όνομα, τηλέφωνο και σχέδιο· η ώρα μένει κλεισμένη στο ημερολόγιο.",
        "Permanently delete everything about this conversation (history, traces, queue, mute)? The customer's bookings, past and future, lose their name, phone and design; their time stays blocked in the calendar.",
    ),
    (
        "export",
        "Εξαγωγή όλων των στοιχείων (JSON)",
        "Export everything (JSON)",
    ),
    (
        "unsent_by_customer",
        "Ο πελάτης ανακάλεσε αυτό το μήνυμα.",
        "The customer unsent this message.",
    ),
    (
        "unsent_by_studio",
        "Το στούντιο ανακάλεσε αυτό το μήνυμα.",
        "The studio unsent this message.",
    ),
    ("delete_yes", "Ναι, διαγραφή", "Yes, delete"),
    ("cancel", "Άκυρο", "Cancel"),
    ("image_analysis", "Ανάλυση εικόνας", "Image analysis"),
    ("voice_note", "Φωνητικό μήνυμα", "Voice note"),
    (
        "model_usage_today",
        "Χρήση μοντέλου σήμερα",
        "Model usage today",
    ),
    ("model_usage", "Χρήση μοντέλου", "Model usage"),
    ("calls", "Κλήσεις", "Calls"),
    ("prompt_tokens", "Tokens εισόδου", "Prompt tokens"),
    ("cached_tokens", "Από cache", "Cached"),
    ("completion_tokens", "Tokens εξόδου", "Completion tokens"),
    (
        "cost_usd",
        "Εκτιμώμενο κόστος (USD)",
        "Estimated cost (USD)",
    ),
    ("total", "Σύνολο", "Total"),
    (
        "voice_note_untranscribed",
        "Φωνητικό μήνυμα χωρίς απομαγνητοφώνηση",
        "Voice message, not transcribed",
    ),
    ("handoff", "Παράδοση σε άνθρωπο", "Handoff"),
    ("tool_calls", "Κλήσεις εργαλείων", "Tool calls"),
    ("model_calls", "Κλήσεις μοντέλου", "Model calls"),
    ("intent", "Πρόθεση", "Intent"),
    ("outcome", "Αποτέλεσμα", "Outcome"),
    ("conversation", "Συνομιλία", "Conversation"),
    ("filter", "Φίλτρο", "Filter"),
    ("when", "Πότε", "When"),
    ("tokens", "Tokens", "Tokens"),
    ("latency", "Χρόνος", "Latency"),
    ("no_traces", "Κανένα ίχνος.", "No traces."),
    (
        "system_prompt",
        "Οι οδηγίες του βοηθού (ίδιες σε κάθε γύρο)",
        "The assistant's instructions (the same in every turn)",
    ),
    (
        "no_bookings",
        "Κανένα επερχόμενο ραντεβού.",
        "No upcoming bookings.",
    ),
    ("remind_by_hand", "Υπενθύμιση με το χέρι", "Remind by hand"),
    ("mark_reminded", "Έγινε υπενθύμιση", "Reminded"),
    (
        "past_appointments",
        "Περασμένα ραντεβού",
        "Past appointments",
    ),
    ("mark_completed", "Ήρθε", "Completed"),
    ("mark_no_show", "Δεν ήρθε", "No-show"),
    (
        "no_show_on_record",
        "Δεν ήρθε σε ραντεβού (προκαταβολή πάντα)",
        "Missed an appointment (deposit always)",
    ),
    (
        "no_past",
        "Κανένα ραντεβού τις τελευταίες 30 ημέρες.",
        "No appointments in the last 30 days.",
    ),
    (
        "remind_by_hand_why",
        "Ραντεβού που η υπενθύμισή τους δεν μπόρεσε να σταλεί (εκτός του 24ωρου του Instagram χωρίς συναίνεση για SMS ή χωρίς Twilio): τηλεφωνήστε ή στείλτε μήνυμα.",
        "Appointments whose reminder could not be sent (outside Instagram's 24-hour window without SMS consent or Twilio): call or text the customer.",
    ),
    (
        "reminder_maybe_sent",
        "Το SMS ίσως στάλθηκε: ελέγξτε πριν επικοινωνήσετε.",
        "The SMS may have gone out: check before calling.",
    ),
    (
        "no_reminders_by_hand",
        "Καμία υπενθύμιση για το χέρι.",
        "No reminders to make by hand.",
    ),
    ("name", "Όνομα", "Name"),
    ("phone", "Τηλέφωνο", "Phone"),
    ("design", "Σχέδιο", "Design"),
    ("price", "Τιμή", "Price"),
    ("duration_min", "Διάρκεια (λεπτά)", "Duration (min)"),
    (
        "pause",
        "Παύση βοηθού για όλους",
        "Pause the assistant for everyone",
    ),
    ("resume", "Επανεκκίνηση βοηθού", "Resume the assistant"),
    (
        "paused_banner",
        "Ο βοηθός είναι σε παύση για όλες τις συνομιλίες.",
        "The assistant is paused for every conversation.",
    ),
    ("store", "Αποθήκη", "Store"),
    ("calendar", "Ημερολόγιο", "Calendar"),
    ("model", "Μοντέλο", "Model"),
    ("graph_token", "Token Instagram", "Instagram token"),
    ("notifications", "Ειδοποιήσεις", "Notifications"),
    ("ok", "εντάξει", "ok"),
    ("not_configured", "δεν έχει οριστεί", "not configured"),
    ("today", "Σήμερα", "Today"),
    ("customer_messages", "Μηνύματα πελατών", "Customer messages"),
    (
        "assistant_replies",
        "Απαντήσεις βοηθού",
        "Assistant replies",
    ),
    ("staff_replies", "Απαντήσεις στούντιο", "Studio replies"),
    ("handoffs", "Παραδόσεις", "Handoffs"),
    (
        "active_conversations",
        "Ενεργές συνομιλίες",
        "Active conversations",
    ),
    ("error", "Σφάλμα", "Error"),
    ("back", "Πίσω", "Back"),
    (
        "feed",
        "Ημερολόγιο στο κινητό (συνδρομή iCal)",
        "Calendar on your phone (iCal subscription)",
    ),
    (
        "feed_help",
        "Στο iPhone πατήστε τον σύνδεσμο webcal· στο Google Calendar: Άλλα ημερολόγια → + → Από URL, και επικολλήστε τη διεύθυνση https. Κρατήστε τις διευθύνσεις μυστικές: όποιος τις έχει βλέπει τα ραντεβού.",
        "On an iPhone, tap the webcal link; in Google Calendar: Other calendars → + → From URL, and paste the https address. Keep these addresses secret: whoever has one sees the bookings.",
    ),
    (
        "feed_off",
        "Ανενεργό: ορίστε το INKDESK_FEED_TOKEN (τουλάχιστον 24 χαρακτήρες).",
        "Off: set INKDESK_FEED_TOKEN (at least 24 characters).",
    ),
    (
        "feed_needs_public_url",
        "Ορίστε το INKDESK_PUBLIC_URL για πλήρεις διευθύνσεις.",
        "Set INKDESK_PUBLIC_URL for full addresses.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_beats_cookie_beats_accept_language_and_greek_is_the_default() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::pick(None, &headers), Lang::El);
        headers.insert(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.8".parse().unwrap());
        assert_eq!(Lang::pick(None, &headers), Lang::En);
        headers.insert(header::COOKIE, "inkdesk_lang=el".parse().unwrap());
        assert_eq!(Lang::pick(None, &headers), Lang::El);
        assert_eq!(Lang::pick(Some("en"), &headers), Lang::En);
    }

    #[test]
    fn both_languages_have_every_text() {
        for (key, el, en) in TEXTS {
            assert!(!el.is_empty() && !en.is_empty(), "{key}");
        }
    }
}
