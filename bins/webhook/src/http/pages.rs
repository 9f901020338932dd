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

/// The privacy policy, in Greek and English.
pub fn privacy_html(profile: &StudioProfile) -> Html<String> {
    let name = escape(&profile.name);
    let address = escape(&profile.address);
    let days = profile.conversation.history_retention_days;
    let body = format!(
        "<h1>Πολιτική απορρήτου — {name}</h1>\
         <p>Όταν μας στέλνετε μήνυμα στο Instagram, αποθηκεύουμε το αναγνωριστικό σας στο Instagram, \
         τα μηνύματα της συνομιλίας και, αν κλείσετε ραντεβού, το όνομα και το τηλέφωνό σας. \
         Τα χρησιμοποιούμε μόνο για να σας απαντήσουμε, να σας δώσουμε τιμή και να κλείσουμε το ραντεβού σας. \
         Οι απαντήσεις συντάσσονται με τη βοήθεια γλωσσικού μοντέλου· οι τιμές υπολογίζονται με σταθερό τύπο.</p>\
         <p>Το ιστορικό της συνομιλίας διαγράφεται μετά από {days} ημέρες. \
         Για να διαγραφούν νωρίτερα όλα τα στοιχεία σας, γράψτε μας στο Instagram ή ελάτε στο {address}.</p>\
         <h1>Privacy policy — {name}</h1>\
         <p>When you message us on Instagram we store your Instagram id, the messages of the conversation and, \
         if you book, your name and phone number. We use them only to answer you, quote a price and book your \
         appointment. Replies are drafted with the help of a language model; prices come from a fixed formula.</p>\
         <p>Conversation history is deleted after {days} days. To have everything about you deleted sooner, \
         message us on Instagram or visit us at {address}.</p>"
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
        assert!(privacy.contains("20 days"));
        let terms = terms_html(&profile).0;
        assert!(terms.contains("30%") && terms.contains("18"));
    }
}
