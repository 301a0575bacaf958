//! Resource quantities (`500m`, `0.5`, `128Mi`, `1G`, `1e3`), exact, as apimachinery parses them.
//!
//! A quantity is held as a signed count of nano-units (`i128`), which is exactly what
//! apimachinery can represent: it rounds every value up (away from zero) to a multiple of 1n
//! and caps the magnitude at 2^63-1. No floating point is involved anywhere, so `0.1 + 0.2`
//! style surprises cannot happen and equivalent spellings compare equal (`0.5 == 500m`).

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

const NANO: i128 = 1_000_000_000;
/// apimachinery caps every quantity at the largest int64 (in whole units).
const CAP_NANOS: u128 = (i64::MAX as u128) * 1_000_000_000;

/// How a quantity was written; it decides how the quantity prints (apimachinery's `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// `12M`, `500m`, `3` (also plain numbers).
    DecimalSI,
    /// `128Mi` (powers of 1024).
    BinarySI,
    /// `12e6`.
    DecimalExponent,
}

/// Why a string is not a quantity; the texts are apimachinery's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    Format,
    Suffix,
    Numeric,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuantityError::Format => {
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTPE]*[-+]?[0-9]*)$'"
            }
            QuantityError::Suffix => "unable to parse quantity's suffix",
            QuantityError::Numeric => "unable to parse numeric part of quantity",
        })
    }
}

impl std::error::Error for QuantityError {}

/// An exact resource quantity. Equality and ordering compare values, not spellings.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

impl Quantity {
    /// Parse a quantity; the error names the input and the expected form.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        Quantity::try_parse(s).map_err(|e| format!("cannot parse quantity {s:?}: {e}"))
    }

    /// Parse a quantity, returning apimachinery's bare reason on failure (for field errors that
    /// already show the value).
    pub fn try_parse(s: &str) -> Result<Quantity, QuantityError> {
        let parts = split(s)?;
        let (exp10, exp2, format) = interpret_suffix(parts.suffix)?;
        let digits: Vec<u8> = parts
            .int
            .iter()
            .chain(parts.frac.iter())
            .map(|d| d - b'0')
            .collect();
        let k = exp10 as i128 + 9 - parts.frac.len() as i128;
        let mag = magnitude(&digits, k, 1u128 << exp2);
        // `mag` is at most CAP_NANOS, far below i128::MAX.
        let nanos = if parts.negative {
            -(mag as i128)
        } else {
            mag as i128
        };
        Ok(Quantity { nanos, format })
    }

    /// Accepts a JSON string or number, as Kubernetes does (strings are trimmed like
    /// apimachinery's UnmarshalJSON; `null` is the zero quantity).
    pub fn from_json(v: &Value) -> Result<Quantity, String> {
        match v {
            Value::String(s) => Quantity::parse(s.trim()),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            Value::Null => Ok(Quantity::zero()),
            other => Err(format!(
                "cannot parse quantity {other}: a quantity must be a string such as \"500m\" or \"128Mi\", or a number"
            )),
        }
    }

    /// Value in thousandths, rounded up (cpu: millicores).
    pub fn milli_value(&self) -> i128 {
        div_away(self.nanos, 1_000_000)
    }

    /// Value rounded up to a whole number (memory: bytes).
    pub fn value(&self) -> i128 {
        div_away(self.nanos, NANO)
    }

    /// Value in billionths (exact: quantities are always whole nano-units).
    pub fn nano_value(&self) -> i128 {
        self.nanos
    }

    pub fn zero() -> Quantity {
        Quantity {
            nanos: 0,
            format: QuantityFormat::DecimalSI,
        }
    }

    /// `from_milli(1500)` prints as `1500m`.
    pub fn from_milli(milli: i128) -> Quantity {
        Quantity::from_nanos(milli.saturating_mul(1_000_000), QuantityFormat::DecimalSI)
    }

    /// A whole number of units printed in `format` (`from_value(1 << 30, BinarySI)` is `1Gi`).
    pub fn from_value(value: i128, format: QuantityFormat) -> Quantity {
        Quantity::from_nanos(value.saturating_mul(NANO), format)
    }

    fn from_nanos(nanos: i128, format: QuantityFormat) -> Quantity {
        let cap = CAP_NANOS as i128;
        Quantity {
            nanos: nanos.clamp(-cap, cap),
            format,
        }
    }

    /// The same quantity rounded up (away from zero) to whole thousandths, as the API server
    /// stores resource lists (`0.1m` becomes `1m`).
    pub fn round_up_milli(&self) -> Quantity {
        let nanos = div_away(self.nanos, 1_000_000).saturating_mul(1_000_000);
        Quantity::from_nanos(nanos, self.format)
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The canonical JSON form (a string, as the API server writes quantities back).
    pub fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// Division rounding away from zero, which is how apimachinery's int64 path scales values.
fn div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

struct Parts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    suffix: &'a str,
}

/// Split `[+-]digits[.digits]suffix` the way apimachinery's parseQuantityString does, except
/// that at least one digit is required (apimachinery quietly reads `Mi` or `-` as zero).
fn split(s: &str) -> Result<Parts<'_>, QuantityError> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut negative = false;
    if let Some(&c) = b.first()
        && (c == b'-' || c == b'+')
    {
        negative = c == b'-';
        pos = 1;
    }
    let int_start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let int = &b[int_start..pos];
    let mut frac: &[u8] = &[];
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        frac = &b[frac_start..pos];
    }
    if int.is_empty() && frac.is_empty() {
        return Err(QuantityError::Format);
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTPE".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos != b.len() {
        return Err(QuantityError::Format);
    }
    // Everything from suffix_start on is ASCII, so slicing the str there is safe.
    Ok(Parts {
        negative,
        int,
        frac,
        suffix: &s[suffix_start..],
    })
}

/// Power of ten, power of two and format that a suffix stands for.
fn interpret_suffix(suffix: &str) -> Result<(i64, u32, QuantityFormat), QuantityError> {
    use QuantityFormat::*;
    let r = match suffix {
        "" => (0, 0, DecimalSI),
        "n" => (-9, 0, DecimalSI),
        "u" => (-6, 0, DecimalSI),
        "m" => (-3, 0, DecimalSI),
        "k" => (3, 0, DecimalSI),
        "M" => (6, 0, DecimalSI),
        "G" => (9, 0, DecimalSI),
        "T" => (12, 0, DecimalSI),
        "P" => (15, 0, DecimalSI),
        "E" => (18, 0, DecimalSI),
        "Ki" => (0, 10, BinarySI),
        "Mi" => (0, 20, BinarySI),
        "Gi" => (0, 30, BinarySI),
        "Ti" => (0, 40, BinarySI),
        "Pi" => (0, 50, BinarySI),
        "Ei" => (0, 60, BinarySI),
        _ => {
            let rest = suffix
                .strip_prefix(['e', 'E'])
                .ok_or(QuantityError::Suffix)?;
            if rest.is_empty() {
                return Err(QuantityError::Suffix);
            }
            let exp: i64 = rest.parse().map_err(|_| QuantityError::Suffix)?;
            (exp, 0, DecimalExponent)
        }
    };
    Ok(r)
}

/// `ceil(D * mult * 10^k)` capped at CAP_NANOS, where D is the decimal number in `digits`
/// (one value 0..=9 per element). Exact for any input length, in linear time.
fn magnitude(digits: &[u8], k: i128, mult: u128) -> u128 {
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else { return 0 };
    let digits = &digits[first..];
    let to_int = |ds: &[u8]| -> Option<u128> {
        ds.iter()
            .try_fold(0u128, |acc, &d| acc.checked_mul(10)?.checked_add(d as u128))
    };
    if k >= 0 {
        // An integer: D * mult * 10^k. Anything that overflows u128 is far beyond the cap.
        let r = (|| {
            let d = to_int(digits)?;
            let p = 10u128.checked_pow(u32::try_from(k).ok()?)?;
            d.checked_mul(mult)?.checked_mul(p)
        })();
        return r.map_or(CAP_NANOS, |v| v.min(CAP_NANOS));
    }
    // k < 0: the last m digits are a fraction. Split D = q * 10^m + r.
    let m = -k;
    let split = if m >= digits.len() as i128 {
        0
    } else {
        digits.len() - m as usize
    };
    let (q_digits, r_digits) = digits.split_at(split);
    let whole = match to_int(q_digits).and_then(|q| q.checked_mul(mult)) {
        Some(v) => v,
        None => return CAP_NANOS,
    };
    // ceil(0.[zeros][r_digits] * mult) by long multiplication from the last digit.
    let zeros = m - r_digits.len() as i128;
    let mut carry: u128 = 0;
    let mut inexact = false;
    for &d in r_digits.iter().rev() {
        let x = d as u128 * mult + carry;
        inexact |= !x.is_multiple_of(10);
        carry = x / 10;
    }
    // carry < mult <= 2^60 < 10^19, so after 20 more (zero) digits it is gone.
    for _ in 0..zeros.min(40) {
        inexact |= !carry.is_multiple_of(10);
        carry /= 10;
    }
    let total = whole
        .checked_add(carry)
        .and_then(|v| v.checked_add(inexact as u128));
    total.map_or(CAP_NANOS, |v| v.min(CAP_NANOS))
}

impl FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Quantity, String> {
        Quantity::parse(s)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Quantity) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Quantity) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

/// Canonical form, as apimachinery's `Quantity.String()`: the largest suffix that keeps the
/// number whole (`1500m`, `1536Mi`, `1`), binary only for whole multiples of 1024.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        if self.format == QuantityFormat::BinarySI
            && self.nanos.abs() >= 1024 * NANO
            && self.nanos % NANO == 0
        {
            let mut v = self.nanos / NANO;
            let mut e = 0;
            while v.abs() >= 1024 && v % 1024 == 0 && e < 6 {
                v /= 1024;
                e += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][e];
            return write!(f, "{v}{suffix}");
        }
        let mut m = self.nanos;
        let mut e: i32 = -9;
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        while e.rem_euclid(3) != 0 {
            m *= 10;
            e -= 1;
        }
        if self.format == QuantityFormat::DecimalExponent {
            return if e == 0 {
                write!(f, "{m}")
            } else {
                write!(f, "{m}e{e}")
            };
        }
        let suffix = match e {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            // Unreachable: values are capped below 10^19 and rounded to 1n.
            _ => return write!(f, "{m}e{e}"),
        };
        write!(f, "{m}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_every_suffix_exactly() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("1", 1_000_000_000),
            ("1n", 1),
            ("1u", 1_000),
            ("1m", 1_000_000),
            ("1k", 1_000_000_000_000),
            ("1M", 1_000_000_000_000_000),
            ("1G", 10i128.pow(18)),
            ("1T", 10i128.pow(21)),
            ("1P", 10i128.pow(24)),
            ("1E", 10i128.pow(27)),
            ("1Ki", 1024 * NANO),
            ("1Mi", (1 << 20) * NANO),
            ("1Gi", (1 << 30) * NANO),
            ("1Ti", (1 << 40) * NANO),
            ("1Pi", (1 << 50) * NANO),
            ("1Ei", (1 << 60) * NANO),
            ("1e3", 1_000 * NANO),
            ("1E3", 1_000 * NANO),
            ("1e+3", 1_000 * NANO),
            ("1E-3", 1_000_000),
            ("-1.5", -1_500_000_000),
            ("+2", 2 * NANO),
            ("1.", NANO),
            (".5", 500_000_000),
            ("0.1Mi", 104_857_600_000_000),
            ("007", 7 * NANO),
        ];
        for (s, nanos) in cases {
            assert_eq!(q(s).nano_value(), *nanos, "{s}");
        }
    }

    #[test]
    fn rounds_up_to_nano_and_caps_at_int64() {
        assert_eq!(q("0.1n").nano_value(), 1);
        assert_eq!(q("-0.1n").nano_value(), -1);
        assert_eq!(q("1.0000000001").nano_value(), NANO + 1);
        assert_eq!(q("0.0000000001Ki").nano_value(), 103); // 102.4n rounds up
        assert_eq!(q("1e-1000").nano_value(), 1);
        assert_eq!(q("0e-1000").nano_value(), 0);
        assert_eq!(q("1e100").value(), i64::MAX as i128);
        assert_eq!(
            q("99999999999999999999999999999999999999999999Ei").value(),
            i64::MAX as i128
        );
        assert_eq!(q("-1e100").value(), -(i64::MAX as i128));
        assert_eq!(q("9223372036854775807").value(), i64::MAX as i128);
        assert_eq!(q("1e-9").nano_value(), 1);
        // A long exact fraction times a binary suffix stays exact.
        assert_eq!(
            q("0.00000000000000000000000000000000000000000001Ei").nano_value(),
            1
        );
    }

    #[test]
    fn rejects_garbage_with_apimachinery_messages() {
        for bad in [
            "", " 1", "1 ", "1.2.3", "Mi", "12x", "-", ".", "1.1.M", "1+1.0M", "aoeu", "0.1am",
        ] {
            let e = Quantity::parse(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
            assert!(e.contains("[eEinumkKMGTPE]"), "{bad}: {e}");
        }
        for bad in ["0.1mi", ".5i", "1i", "1K", "1e", "1ee3", "1Mi5", "-3.01e-"] {
            assert_eq!(
                Quantity::try_parse(bad).unwrap_err(),
                QuantityError::Suffix,
                "{bad}"
            );
        }
        assert!(Quantity::parse("1e99999999999999999999").is_err());
    }

    #[test]
    fn milli_and_value_round_away_from_zero() {
        assert_eq!(q("0.5").milli_value(), 500);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("1n").value(), 1);
        assert_eq!(q("1500m").value(), 2);
        assert_eq!(q("-1500m").value(), -2);
        assert_eq!(q("128Mi").value(), 134_217_728);
        assert_eq!(q("0").value(), 0);
    }

    #[test]
    fn canonical_strings_match_apimachinery() {
        let cases = [
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1000m", "1"),
            ("0.5", "500m"),
            ("1Ki", "1Ki"),
            ("1024", "1024"),
            ("1536", "1536"),
            ("1.5Ki", "1536"),
            ("0.5Ki", "512"),
            ("1.1Ki", "1126400m"),
            ("2048Ki", "2Mi"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("1E-3", "1e-3"),
            ("100e-3", "100e-3"),
            ("1000k", "1M"),
            ("10k", "10k"),
            ("100000", "100k"),
            ("12M", "12M"),
            ("0.1n", "1n"),
            ("-1.5", "-1500m"),
            ("-1Gi", "-1Gi"),
            ("0Mi", "0"),
            ("1e100", "9223372036854775807"),
            ("1.0", "1"),
        ];
        for (input, want) in cases {
            assert_eq!(q(input).to_string(), want, "{input}");
        }
    }

    #[test]
    fn compares_by_value() {
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1k"), q("1e3"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("-1") < q("0"));
        assert_eq!(q("2").cmp(&q("2000m")), Ordering::Equal);
    }

    #[test]
    fn from_json_accepts_strings_numbers_and_null() {
        assert_eq!(
            Quantity::from_json(&json!("250m")).unwrap().milli_value(),
            250
        );
        assert_eq!(Quantity::from_json(&json!(0.5)).unwrap().milli_value(), 500);
        assert_eq!(Quantity::from_json(&json!(2)).unwrap().value(), 2);
        assert_eq!(Quantity::from_json(&json!(1e3)).unwrap().value(), 1000);
        assert_eq!(
            Quantity::from_json(&json!(" 1Gi ")).unwrap().value(),
            1 << 30
        );
        assert!(Quantity::from_json(&Value::Null).unwrap().is_zero());
        let e = Quantity::from_json(&json!(true)).unwrap_err();
        assert!(e.contains("true"), "{e}");
        assert!(Quantity::from_json(&json!("12x")).is_err());
    }

    #[test]
    fn round_up_milli_matches_resource_list_defaulting() {
        assert_eq!(q("0.1m").round_up_milli().to_string(), "1m");
        assert_eq!(q("1n").round_up_milli().to_string(), "1m");
        assert_eq!(q("-1n").round_up_milli().to_string(), "-1m");
        assert_eq!(q("1.5Gi").round_up_milli().to_string(), "1536Mi");
        assert_eq!(q("250m").round_up_milli(), q("250m"));
    }

    #[test]
    fn constructors_print_canonically() {
        assert_eq!(Quantity::from_milli(1500).to_string(), "1500m");
        assert_eq!(
            Quantity::from_value(1 << 30, QuantityFormat::BinarySI).to_string(),
            "1Gi"
        );
        assert_eq!(
            Quantity::from_value(3, QuantityFormat::DecimalSI).to_json(),
            json!("3")
        );
    }
}
