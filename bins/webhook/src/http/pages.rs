//! `/privacy` and `/terms`: public pages Meta asks every app for, written from the studio
//! profile so they always name the right studio and retention period.

use axum::extract::State;
use axum::response::Html;
use inkdesk_domain::StudioProfile;

use super::AppState;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"el\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body style=\"font-family:sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5\">{body}</body></html>",
        title = escape(title),
    ))
}

/// The privacy policy, in Greek and English: what is stored, for how long, and what a
/// deletion request removes and keeps — exactly what the code does (`admin::actions::delete`,
/// the store's retention, the dedupe and outbox lifetimes).
pub fn privacy_html(profile: &StudioProfile) -> Html<String> {
    let name = escape(&profile.name);
    let address = escape(&profile.address);
    let days = profile.conversation.history_retention_days;
    let dedupe_days = crate::ingest::DEDUPE_TTL.as_secs() / 86_400;
    let body = format!(
        "<h1>Πολιτική απορρήτου — {name}</h1>\
         <p>Όταν μας στέλνετε μήνυμα στο Instagram, αποθηκεύουμε το αναγνωριστικό σας στο Instagram, \
         το όνομα και το όνομα χρήστη του προφίλ σας στο Instagram (για να σας αναγνωρίζει το στούντιο), τα μηνύματα της συνομιλίας, τις αναλύσεις των φωτογραφιών που μας στέλνετε και ένα αρχείο του τι έκανε ο βοηθός σε κάθε απάντηση. \
         Αν κλείσετε ραντεβού, το όνομα, το τηλέφωνο, το σχέδιο, η τιμή και η ώρα γράφονται στο ημερολόγιο του στούντιο. \
         Τα χρησιμοποιούμε μόνο για να σας απαντήσουμε, να σας δώσουμε τιμή και να κλείσουμε το ραντεβού σας. \
         Οι απαντήσεις συντάσσονται με τη βοήθεια γλωσσικού μοντέλου· οι τιμές υπολογίζονται με σταθερό τύπο.</p>\
         <h2>Πόσο τα κρατάμε</h2><ul>\
         <li>Η συνομιλία, οι αναλύσεις φωτογραφιών και το αρχείο του βοηθού διαγράφονται {days} ημέρες μετά το τελευταίο μήνυμα· το όνομα του προφίλ σας το πολύ {days} ημέρες αφού το πήραμε.</li>\
         <li>Ένα μήνυμα που ανακαλείτε στο Instagram σβήνεται αμέσως από τη συνομιλία και από το αρχείο του βοηθού· μένει μόνο η σημείωση ότι ανακλήθηκε. Ένα μήνυμα που επεξεργάζεστε αντικαθίσταται από τη νέα του μορφή.</li>\
         <li>Τα ραντεβού μένουν στο ημερολόγιο του στούντιο όσο το στούντιο κρατά το πρόγραμμά του.</li>\
         <li>Τα αναγνωριστικά των μηνυμάτων (όχι το περιεχόμενό τους) κρατούνται {dedupe_days} ημέρες, για να μην απαντηθεί δύο φορές το ίδιο μήνυμα· των δικών μας μηνυμάτων 7 ημέρες.</li></ul>\
         <h2>Αντίγραφο και διαγραφή</h2>\
         <p>Μπορείτε να ζητήσετε αντίγραφο όλων όσων κρατάμε για εσάς (ένα αρχείο JSON) ή τη διαγραφή τους: γράψτε μας στο Instagram ή ελάτε στο {address}. \
         Η διαγραφή σβήνει αμέσως τη συνομιλία, το όνομα του προφίλ σας, το αρχείο του βοηθού, τις αναλύσεις και κάθε εκκρεμότητα, \
         και από όλα τα ραντεβού σας (παλιά και επόμενα, και στο Google Calendar) το όνομα, το τηλέφωνο, το σχέδιο και τη σύνδεση με τον λογαριασμό σας. \
         Από ένα ραντεβού μένουν μόνο η ώρα, η διάρκεια και η τιμή, χωρίς τίποτα που να σας αναγνωρίζει, ώστε το πρόγραμμα του στούντιο να μένει σωστό· \
         αν θέλετε να το ακυρώσετε, πείτε το μας.</p>\
         <h1>Privacy policy — {name}</h1>\
         <p>When you message us on Instagram we store your Instagram id, the name and username of your Instagram profile (so the studio knows who wrote), the messages of the conversation, \
         the analyses of photos you send and a record of what the assistant did for each reply. \
         If you book, your name, phone number, design, price and time go into the studio's calendar. \
         We use them only to answer you, quote a price and book your appointment. \
         Replies are drafted with the help of a language model; prices come from a fixed formula.</p>\
         <h2>How long we keep it</h2><ul>\
         <li>The conversation, photo analyses and the assistant's records are deleted {days} days after the latest message; your profile's name at most {days} days after we fetched it.</li>\
         <li>A message you unsend on Instagram is removed at once from the conversation and from the assistant's records; only a note that it was unsent remains. A message you edit is replaced by its new version.</li>\
         <li>Bookings stay in the studio's calendar for as long as the studio keeps its appointment book.</li>\
         <li>Message ids (not their content) are kept for {dedupe_days} days so that no message is answered twice; ids of our own messages for 7 days.</li></ul>\
         <h2>Copy and deletion</h2>\
         <p>You can ask for a copy of everything we hold about you (one JSON file) or for its deletion: \
         message us on Instagram or visit us at {address}. \
         Deletion removes at once the conversation, your profile's name, the assistant's records, the analyses and anything pending, \
         and from all your bookings (past and future, in Google Calendar too) your name, phone, design and the link to your account. \
         A booking keeps only its time, length and price, with nothing that identifies you, so the studio's schedule stays right; \
         if you want it cancelled, tell us.</p>"
    );
    page(&format!("Privacy — {}", profile.name), &body)
}

/// The terms of service, in Greek and English.
pub fn terms_html(profile: &StudioProfile) -> Html<String> {
    let name = escape(&profile.name);
    let deposit = profile.pricing.deposit_percent;
    let age = profile.policies.minimum_age;
    let notes_el: String = profile
        .policies
        .notes_el
        .iter()
        .map(|n| format!("<li>{}</li>", escape(n)))
        .collect();
    let notes_en: String = profile
        .policies
        .notes_en
        .iter()
        .map(|n| format!("<li>{}</li>", escape(n)))
        .collect();
    let body = format!(
        "<h1>Όροι — {name}</h1><ul>\
         <li>Για να κλειδώσει ένα ραντεβού χρειάζεται προκαταβολή {deposit}%, που δεν επιστρέφεται.</li>\
         <li>Τατουάζ γίνονται μόνο σε άτομα {age} ετών και άνω, με επίδειξη ταυτότητας.</li>{notes_el}</ul>\
         <h1>Terms — {name}</h1><ul>\
         <li>A non-refundable deposit of {deposit}% secures an appointment.</li>\
         <li>We tattoo only people aged {age} or over, with an ID.</li>{notes_en}</ul>"
    );
    page(&format!("Terms — {}", profile.name), &body)
}

/// `GET /privacy`.
pub async fn privacy(State(state): State<AppState>) -> Html<String> {
    privacy_html(&state.app.profile)
}

/// `GET /terms`.
pub async fn terms(State(state): State<AppState>) -> Html<String> {
    terms_html(&state.app.profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_name_the_studio_and_escape_profile_text() {
        let mut profile = StudioProfile::example();
        profile.name = "Ink & <Panda>".into();
        let privacy = privacy_html(&profile).0;
        assert!(privacy.contains("Ink &amp; &lt;Panda&gt;"));
        assert!(!privacy.contains("<Panda>"));
        assert!(privacy.contains("deleted 20 days after the latest message"));
        assert!(privacy.contains("your name, phone, design and the link to your account"));
        assert!(privacy.contains("kept for 3 days"));
        let terms = terms_html(&profile).0;
        assert!(terms.contains("30%") && terms.contains("18"));
    }
}
