//! The words written on a booking's calendar entry (Google event, iCalendar feed).

use inkdesk_domain::Language;

use crate::format::format_appointment;
use crate::port::Booking;

/// `Τατουάζ - {name}` / `Tattoo - {name}`.
pub fn event_title(booking: &Booking, language: Language) -> String {
    match language {
        Language::El => format!("Τατουάζ - {}", booking.customer),
        Language::En => format!("Tattoo - {}", booking.customer),
    }
}

/// One line each: name, phone, design (when given), price (when given), duration.
pub fn event_description(booking: &Booking, language: Language, currency_symbol: &str) -> String {
    let labels = match language {
        Language::El => ["Όνομα", "Τηλέφωνο", "Σχέδιο", "Τιμή", "Διάρκεια"],
        Language::En => ["Name", "Phone", "Design", "Price", "Duration"],
    };
    let mut lines = vec![
        format!("{}: {}", labels[0], booking.customer),
        format!("{}: {}", labels[1], booking.phone),
    ];
    if let Some(design) = &booking.design {
        lines.push(format!("{}: {}", labels[2], design));
    }
    if let Some(price) = &booking.price {
        lines.push(format!("{}: {}{}", labels[3], price, currency_symbol));
    }
    lines.push(format!(
        "{}: {}",
        labels[4],
        format_appointment(booking.duration, language)
    ));
    lines.join("\n")
}

/// The title an entry keeps once its customer's details were deleted.
pub fn forgotten_title(language: Language) -> &'static str {
    match language {
        Language::El => "Τατουάζ (τα στοιχεία του πελάτη διαγράφηκαν)",
        Language::En => "Tattoo (customer details deleted)",
    }
}

/// The description an entry keeps once its customer's details were deleted.
pub fn forgotten_description(language: Language) -> &'static str {
    match language {
        Language::El => {
            "Το ραντεβού κρατήθηκε. Το όνομα, το τηλέφωνο και το σχέδιο του πελάτη διαγράφηκαν κατόπιν αιτήματός του."
        }
        Language::En => {
            "The appointment is kept. The customer's name, phone and design were deleted at their request."
        }
    }
}
