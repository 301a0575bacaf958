//! Property tests for resource quantities: printing and parsing agree, and equivalent
//! spellings mean the same amount.

use peapod::api::quantity::{Quantity, QuantityFormat};
use proptest::prelude::*;

const SUFFIXES: &[&str] = &[
    "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
];

/// Any syntactically valid quantity string: sign, digits, optional fraction, a suffix or an
/// exponent.
fn quantity_string() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "-", "+"]),
        "[0-9]{1,12}",
        prop::option::of("[0-9]{0,12}"),
        prop_oneof![
            prop::sample::select(SUFFIXES.to_vec()).prop_map(str::to_string),
            (prop::sample::select(vec!["e", "E"]), -12i32..12).prop_map(|(e, n)| format!("{e}{n}")),
        ],
    )
        .prop_map(|(sign, int, frac, suffix)| match frac {
            Some(f) => format!("{sign}{int}.{f}{suffix}"),
            None => format!("{sign}{int}{suffix}"),
        })
}

proptest! {
    #[test]
    fn format_then_parse_round_trips(s in quantity_string()) {
        let q = Quantity::parse(&s).unwrap();
        let printed = q.to_string();
        let back = Quantity::parse(&printed).unwrap();
        prop_assert_eq!(back, q, "{} printed as {}", s, printed);
        // The canonical form is a fixed point.
        prop_assert_eq!(back.to_string(), printed);
    }

    #[test]
    fn millis_spelled_as_decimals_agree(m in -10_000_000i64..10_000_000) {
        let whole = m / 1000;
        let frac = (m % 1000).abs();
        let sign = if m < 0 && whole == 0 { "-" } else { "" };
        let decimal = format!("{sign}{whole}.{frac:03}");
        let milli = format!("{m}m");
        let a = Quantity::parse(&decimal).unwrap();
        let b = Quantity::parse(&milli).unwrap();
        prop_assert_eq!(a, b);
        prop_assert_eq!(a.milli_value(), m as i128);
        prop_assert_eq!(b.milli_value(), m as i128);
    }

    #[test]
    fn binary_and_decimal_spellings_agree(n in 0i64..1_000_000) {
        let n128 = n as i128;
        prop_assert_eq!(Quantity::parse(&format!("{n}Ki")).unwrap().value(), n128 * 1024);
        prop_assert_eq!(Quantity::parse(&format!("{n}Mi")).unwrap().value(), n128 << 20);
        prop_assert_eq!(Quantity::parse(&format!("{n}k")).unwrap(), Quantity::parse(&format!("{n}e3")).unwrap());
        prop_assert_eq!(Quantity::parse(&format!("{n}k")).unwrap().value(), n128 * 1000);
        prop_assert_eq!(Quantity::parse(&format!("{n}M")).unwrap(), Quantity::parse(&format!("{}k", n128 * 1000)).unwrap());
        prop_assert_eq!(Quantity::parse(&format!("{n}")).unwrap().milli_value(), n128 * 1000);
    }

    #[test]
    fn whole_values_print_without_loss(v in -1_000_000_000_000i64..1_000_000_000_000, binary: bool) {
        let format = if binary { QuantityFormat::BinarySI } else { QuantityFormat::DecimalSI };
        let q = Quantity::from_value(v as i128, format);
        let back = Quantity::parse(&q.to_string()).unwrap();
        prop_assert_eq!(back.value(), v as i128);
    }

    #[test]
    fn ordering_follows_millis(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
        let qa = Quantity::parse(&format!("{a}m")).unwrap();
        let qb = Quantity::parse(&format!("{b}m")).unwrap();
        prop_assert_eq!(qa.cmp(&qb), a.cmp(&b));
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,40}") {
        let _ = Quantity::parse(&s);
        let _ = Quantity::from_json(&serde_json::Value::String(s));
    }
}

#[test]
fn fixed_equivalences() {
    let p = |s: &str| Quantity::parse(s).unwrap();
    assert_eq!(p("0.5"), p("500m"));
    assert_eq!(p("0.5").milli_value(), 500);
    assert_eq!(p("1Ki"), p("1024"));
    assert_eq!(p("1k"), p("1000"));
    assert_eq!(p("1e3"), p("1k"));
    assert_eq!(p("1Gi").to_string(), "1Gi");
}
