//! Every vector of behaviour reference §2, plus input validation and the JSON shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use inkdesk_pricing::{
    Difficulty, Euros, Piece, PricingError, PricingRules, duration_for_price, piece_price, quote,
};
use rust_decimal::Decimal;
use rust_decimal::dec;
use serde_json::json;

fn piece(h: Decimal, w: Decimal, ink: Decimal, d: &str) -> Piece {
    Piece::new(h, w, ink, d.parse().unwrap()).unwrap()
}

#[test]
fn single_piece_vectors_price_as_the_reference_says() {
    let vectors = [
        (dec!(5), dec!(5), dec!(0.10), "1.14", 45),
        (dec!(7), dec!(7), dec!(0.3), "1.21", 60),
        (dec!(3), dec!(8), dec!(0.2), "3.75", 95),
        (dec!(10), dec!(8), dec!(0.5), "1.45", 130),
        (dec!(10), dec!(10), dec!(0.6), "1.85", 215),
        (dec!(15), dec!(10), dec!(0.8), "2.5", 465),
        (dec!(20), dec!(15), dec!(0.9), "3.3", 1255),
    ];
    for (h, w, ink, d, expected) in vectors {
        let p = piece(h, w, ink, d);
        assert_eq!(
            piece_price(&p),
            Euros::whole(expected),
            "{h}x{w} ink {ink} D {d}"
        );
    }
}

#[test]
fn exact_boundaries_stay_on_the_multiple_of_5() {
    // 15 · 10 · 2.5 · (1 + 0.3 · 0.8) = 465 exactly.
    let p = piece(dec!(15), dec!(10), dec!(0.8), "realistic");
    assert_eq!(piece_price(&p), Euros::whole(465));
    // Just under the boundary falls to the multiple of 5 below.
    let under = piece(dec!(15), dec!(10), dec!(0.79), "realistic");
    assert_eq!(piece_price(&under), Euros::whole(460));
    // 4 · 20 · 2.5 · 1.15 = 230 exactly, but f64 makes it 229.99999999999997 (→ 225).
    let as_float = |h: f64, w: f64, ink: f64, d: f64| h * w * d * (1.0 + 0.3 * ink);
    assert!(std::hint::black_box(as_float)(4.0, 20.0, 0.5, 2.5) < 230.0);
    let p = piece(dec!(4), dec!(20), dec!(0.5), "realistic");
    assert_eq!(piece_price(&p), Euros::whole(230));
}

#[test]
fn one_piece_gets_two_sizes_five_apart_below_90_and_ten_apart_from_90() {
    let small = quote(&[piece(dec!(5), dec!(5), dec!(0.10), "1.14")]).unwrap();
    assert_eq!(
        (small.low(), small.high()),
        (Euros::whole(45), Euros::whole(50))
    );
    assert_eq!(small.total(), small.low());
    assert!(small.has_two_sizes());

    let sixty = quote(&[piece(dec!(7), dec!(7), dec!(0.3), "1.21")]).unwrap();
    assert_eq!(
        (sixty.low(), sixty.high()),
        (Euros::whole(60), Euros::whole(65))
    );

    let large = quote(&[piece(dec!(10), dec!(8), dec!(0.5), "1.45")]).unwrap();
    assert_eq!(
        (large.low(), large.high()),
        (Euros::whole(130), Euros::whole(140))
    );
}

#[test]
fn the_second_size_step_changes_exactly_at_90() {
    // Realistic, no ink: P = h · w · 2.5.
    let eighty_five = piece(dec!(2), dec!(17), dec!(0), "realistic");
    let q = quote(&[eighty_five]).unwrap();
    assert_eq!((q.low(), q.high()), (Euros::whole(85), Euros::whole(90)));
    let ninety = piece(dec!(6), dec!(6), dec!(0), "realistic");
    let q = quote(&[ninety]).unwrap();
    assert_eq!((q.low(), q.high()), (Euros::whole(90), Euros::whole(100)));
}

#[test]
fn several_pieces_are_discounted_ten_percent_and_rounded_down_to_5() {
    let small = piece(dec!(5), dec!(5), dec!(0.10), "1.14"); // 45
    let shaded = piece(dec!(10), dec!(8), dec!(0.5), "1.45"); // 130
    let q = quote(&[small, shaded]).unwrap();
    assert_eq!(q.pieces(), [Euros::whole(45), Euros::whole(130)]);
    assert_eq!(q.subtotal(), Euros::whole(175));
    assert_eq!(
        (q.low(), q.high(), q.total()),
        (Euros::whole(155), Euros::whole(155), Euros::whole(155))
    );
    assert!(!q.has_two_sizes());

    let sixty = piece(dec!(7), dec!(7), dec!(0.3), "1.21"); // 60
    let colour = piece(dec!(10), dec!(10), dec!(0.6), "1.85"); // 215
    let q = quote(&[sixty, colour]).unwrap();
    assert_eq!(q.total(), Euros::whole(245));
}

#[test]
fn a_quote_for_no_pieces_is_an_error() {
    assert_eq!(quote(&[]), Err(PricingError::NoPieces));
}

#[test]
fn duration_vectors_round_up_to_five_minutes() {
    let vectors = [
        (45, 30),
        (50, 30),
        (70, 45),
        (95, 60),
        (130, 80),
        (150, 90),
        (180, 110),
        (220, 135),
        (285, 175),
        (320, 195),
    ];
    for (price, minutes) in vectors {
        assert_eq!(
            duration_for_price(Euros::whole(price), 600),
            minutes,
            "price {price}"
        );
    }
}

#[test]
fn duration_is_capped_at_the_longest_appointment() {
    // 5000 · 0.6 = 3000 minutes = 50 h: the predecessor booked that; we cap at 10 h.
    assert_eq!(duration_for_price(Euros::whole(5000), 600), 600);
    assert_eq!(duration_for_price(Euros::whole(1000), 600), 600);
    assert_eq!(duration_for_price(Euros::whole(995), 600), 600);
    assert_eq!(duration_for_price(Euros::whole(990), 600), 595);
    assert_eq!(duration_for_price(Euros::whole(320), 120), 120);
    assert_eq!(duration_for_price(Euros::whole(0), 600), 0);
}

#[test]
fn a_quote_takes_its_duration_from_the_sum_before_the_discount() {
    let one = quote(&[piece(dec!(10), dec!(8), dec!(0.5), "1.45")]).unwrap(); // 130
    assert_eq!(one.duration_minutes(), 80);
    let two = quote(&[
        piece(dec!(7), dec!(7), dec!(0.3), "1.21"),   // 60
        piece(dec!(10), dec!(10), dec!(0.6), "1.85"), // 215
    ])
    .unwrap();
    // S = 275 → 165 min (T = 245 would give 150).
    assert_eq!(two.duration_minutes(), 165);
    let huge = quote(&[piece(dec!(200), dec!(200), dec!(1), "portrait")]).unwrap();
    assert_eq!(huge.duration_minutes(), 600);
}

#[test]
fn quote_json_has_the_fields_the_cli_prints_as_numbers() {
    let one = quote(&[piece(dec!(15), dec!(10), dec!(0.8), "2.5")]).unwrap();
    assert_eq!(
        serde_json::to_value(&one).unwrap(),
        json!({"pieces": [465], "low": 465, "high": 475, "total": 465, "duration_minutes": 280})
    );
    let two = quote(&[
        piece(dec!(5), dec!(5), dec!(0.1), "1.14"),
        piece(dec!(10), dec!(8), dec!(0.5), "1.45"),
    ])
    .unwrap();
    assert_eq!(
        serde_json::to_string(&two).unwrap(),
        r#"{"pieces":[45,130],"low":155,"high":155,"total":155,"duration_minutes":105}"#
    );
}

#[test]
fn pieces_outside_the_accepted_ranges_are_refused_with_the_field_named() {
    let d = Difficulty::LineWork;
    assert_eq!(
        Piece::new(dec!(-3), dec!(5), dec!(0.5), d),
        Err(PricingError::NonPositiveSize {
            dimension: "height",
            value: dec!(-3)
        })
    );
    assert_eq!(
        Piece::new(dec!(5), dec!(0), dec!(0.5), d),
        Err(PricingError::NonPositiveSize {
            dimension: "width",
            value: dec!(0)
        })
    );
    assert_eq!(
        Piece::new(dec!(200.01), dec!(5), dec!(0.5), d),
        Err(PricingError::SizeTooLarge {
            dimension: "height",
            value: dec!(200.01),
            max: dec!(200)
        })
    );
    assert_eq!(
        Piece::new(dec!(5), dec!(5), dec!(1.01), d),
        Err(PricingError::InkOutOfRange { value: dec!(1.01) })
    );
    assert_eq!(
        Piece::new(dec!(5), dec!(5), dec!(-0.1), d),
        Err(PricingError::InkOutOfRange { value: dec!(-0.1) })
    );
    assert!(Piece::new(dec!(200), dec!(0.01), dec!(0), d).is_ok());
    assert!(Piece::new(dec!(5), dec!(5), dec!(1), d).is_ok());
    assert_eq!(
        PricingError::NonPositiveSize {
            dimension: "height",
            value: dec!(-3)
        }
        .to_string(),
        "the height must be more than 0 cm, got -3 cm"
    );
}

#[test]
fn the_cli_piece_form_parses_names_and_factors_and_reports_bad_parts() {
    let by_factor: Piece = "10,8,0.5,1.45".parse().unwrap();
    let by_name: Piece = " 10 , 8 , 0.5 , heavy_shading ".parse().unwrap();
    assert_eq!(by_factor, by_name);
    assert_eq!(piece_price(&by_factor), Euros::whole(130));

    assert_eq!(
        "10,8,0.5".parse::<Piece>(),
        Err(PricingError::MalformedPiece {
            input: "10,8,0.5".into()
        })
    );
    assert_eq!(
        "ten,8,0.5,1.45".parse::<Piece>(),
        Err(PricingError::InvalidNumber {
            field: "height",
            input: "ten".into()
        })
    );
    assert_eq!(
        "10,8,0.5,1.5".parse::<Piece>(),
        Err(PricingError::UnknownDifficulty {
            input: "1.5".into()
        })
    );
    assert_eq!(
        "-10,8,0.5,1.45".parse::<Piece>(),
        Err(PricingError::NonPositiveSize {
            dimension: "height",
            value: dec!(-10)
        })
    );
    assert_eq!(
        "10,8,2,1.45".parse::<Piece>(),
        Err(PricingError::InkOutOfRange { value: dec!(2) })
    );
}

#[test]
fn pieces_round_trip_through_json_and_are_validated_on_the_way_in() {
    let p = piece(dec!(10), dec!(8), dec!(0.5), "heavy_shading");
    let text = serde_json::to_string(&p).unwrap();
    assert_eq!(
        text,
        r#"{"height_cm":10,"width_cm":8,"ink":0.5,"difficulty":"heavy_shading"}"#
    );
    assert_eq!(serde_json::from_str::<Piece>(&text).unwrap(), p);
    // A model's tool call may send strings and the factor.
    let loose: Piece = serde_json::from_value(
        json!({"height_cm": "10", "width_cm": 8.0, "ink": "0.5", "difficulty": 1.45}),
    )
    .unwrap();
    assert_eq!(loose, p);
    let err = serde_json::from_value::<Piece>(
        json!({"height_cm": 10, "width_cm": 8, "ink": 1.5, "difficulty": "line_work"}),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("ink coverage must be between 0 and 1"),
        "{err}"
    );
    let err = serde_json::from_value::<Piece>(
        json!({"height_cm": 10, "width_cm": 8, "ink": 0.5, "difficulty": "watercolour"}),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown difficulty 'watercolour'"),
        "{err}"
    );
}

#[test]
fn float_inputs_become_the_decimal_they_print_as() {
    // 0.1 + 0.2 style noise must not leak in: 0.3 from JSON is exactly 0.3.
    let p: Piece = serde_json::from_value(
        json!({"height_cm": 7, "width_cm": 7, "ink": 0.3, "difficulty": "light_shading"}),
    )
    .unwrap();
    assert_eq!(p.ink(), dec!(0.3));
    assert_eq!(piece_price(&p), Euros::whole(60));
}

#[test]
fn studio_rules_override_some_numbers_and_keep_the_rest() {
    let rules: PricingRules = toml::from_str("minimum = 50\nmulti_discount = \"0.95\"").unwrap();
    assert_eq!(rules.minimum, Euros::whole(50));
    assert_eq!(rules.multi_discount, dec!(0.95));
    assert_eq!(rules.max_minutes, 600);
    assert_eq!(rules.validate(), Ok(()));
    let small = Piece::new(dec!(5), dec!(5), dec!(0.1), Difficulty::LineWork).unwrap();
    assert_eq!(rules.piece_price(&small), Euros::whole(50));
    // [50, 50] → 100 · 0.95 = 95.
    assert_eq!(
        rules.quote(&[small, small]).unwrap().total(),
        Euros::whole(95)
    );
    assert!(toml::from_str::<PricingRules>("minimun = 50").is_err());
}
