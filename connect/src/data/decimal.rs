//! `java.math.BigDecimal` semantics that Connect's data model exposes: an
//! arbitrary-precision unscaled integer and a 32-bit scale, with Java's
//! `toString`, parsing grammar and narrowing conversions, because the
//! Decimal logical type, `Cast` and the JSON converter all print or narrow them.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::{BigInt, Sign};
use num_traits::{One, Signed, ToPrimitive, Zero};

#[derive(Clone, Debug)]
pub struct BigDecimal {
    unscaled: BigInt,
    scale: i32,
}

/// Equality is Java's `BigDecimal.equals`: value *and* scale (2.0 != 2.00).
impl PartialEq for BigDecimal {
    fn eq(&self, other: &Self) -> bool {
        self.scale == other.scale && self.unscaled == other.unscaled
    }
}

impl BigDecimal {
    pub fn new(unscaled: BigInt, scale: i32) -> Self {
        BigDecimal { unscaled, scale }
    }

    pub fn zero() -> Self {
        BigDecimal::new(BigInt::zero(), 0)
    }

    pub fn from_i64(v: i64) -> Self {
        BigDecimal::new(BigInt::from(v), 0)
    }

    pub fn unscaled(&self) -> &BigInt {
        &self.unscaled
    }

    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// Java `new BigDecimal(String)`: optional sign, digits with an optional
    /// point, optional exponent. `None` where Java throws NumberFormatException.
    pub fn parse(s: &str) -> Option<BigDecimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut digits = String::new();
        let mut frac_digits: i64 = 0;
        let mut seen_point = false;
        let mut any_digit = false;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                digits.push(c as char);
                any_digit = true;
                if seen_point {
                    frac_digits += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if !any_digit {
            return None;
        }
        let mut exp: i64 = 0;
        if i < b.len() {
            if b[i] != b'e' && b[i] != b'E' {
                return None;
            }
            i += 1;
            let rest = &s[i..];
            if rest.is_empty() {
                return None;
            }
            let (eneg, edigits) = match rest.as_bytes()[0] {
                b'+' => (false, &rest[1..]),
                b'-' => (true, &rest[1..]),
                _ => (false, rest),
            };
            if edigits.is_empty()
                || !edigits.bytes().all(|c| c.is_ascii_digit())
                || edigits.len() > 10
            {
                return None;
            }
            let e: i64 = edigits.parse().ok()?;
            exp = if eneg { -e } else { e };
        }
        let scale = frac_digits - exp;
        if scale > i32::MAX as i64 || scale < i32::MIN as i64 {
            return None;
        }
        let mut unscaled: BigInt = digits.parse().ok()?;
        if neg {
            unscaled = -unscaled;
        }
        Some(BigDecimal::new(unscaled, scale as i32))
    }

    /// Java's `BigDecimal.toString()`: plain when the scale is non-negative and
    /// the adjusted exponent is >= -6, otherwise scientific with `E+n`/`E-n`.
    pub fn to_java_string(&self) -> String {
        let neg = self.unscaled.sign() == Sign::Minus;
        let coeff = self.unscaled.abs().to_string();
        let scale = self.scale as i64;
        let adjusted = -scale + (coeff.len() as i64 - 1);
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        if scale >= 0 && adjusted >= -6 {
            if scale == 0 {
                out.push_str(&coeff);
            } else if (coeff.len() as i64) > scale {
                let point = coeff.len() - scale as usize;
                out.push_str(&coeff[..point]);
                out.push('.');
                out.push_str(&coeff[point..]);
            } else {
                out.push_str("0.");
                for _ in 0..(scale - coeff.len() as i64) {
                    out.push('0');
                }
                out.push_str(&coeff);
            }
        } else {
            out.push_str(&coeff[..1]);
            if coeff.len() > 1 {
                out.push('.');
                out.push_str(&coeff[1..]);
            }
            out.push('E');
            if adjusted >= 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
        out
    }

    /// The integer part, truncated toward zero (Java `toBigInteger()`).
    pub fn to_bigint_truncated(&self) -> BigInt {
        if self.scale <= 0 {
            let mut v = self.unscaled.clone();
            for _ in 0..(-(self.scale as i64)).min(100_000) {
                v *= 10;
            }
            v
        } else {
            let div = pow10(self.scale as u32);
            &self.unscaled / div
        }
    }

    /// Java `longValue()`: truncate, then keep the low 64 bits.
    pub fn long_value(&self) -> i64 {
        low_i64(&self.to_bigint_truncated())
    }

    pub fn double_value(&self) -> f64 {
        // Rust's float parser is correctly rounded, like Java's doubleValue().
        self.to_sci_string().parse::<f64>().unwrap_or(f64::NAN)
    }

    pub fn float_value(&self) -> f32 {
        self.to_sci_string().parse::<f32>().unwrap_or(f32::NAN)
    }

    fn to_sci_string(&self) -> String {
        format!("{}e{}", self.unscaled, -(self.scale as i64))
    }

    /// `setScale(0, CEILING) == setScale(0, FLOOR)`: whether it has no fraction.
    pub fn is_integral(&self) -> bool {
        if self.scale <= 0 {
            return true;
        }
        (&self.unscaled % pow10(self.scale as u32)).is_zero()
    }

    /// The number of digits in the unscaled value (Java `precision()`).
    pub fn precision(&self) -> usize {
        if self.unscaled.is_zero() {
            1
        } else {
            self.unscaled.abs().to_string().len()
        }
    }

    pub fn signum(&self) -> i32 {
        match self.unscaled.sign() {
            Sign::Minus => -1,
            Sign::NoSign => 0,
            Sign::Plus => 1,
        }
    }

    /// Numeric comparison ignoring scale (Java `compareTo`).
    pub fn cmp_value(&self, other: &BigDecimal) -> Ordering {
        let s = self.scale.max(other.scale);
        let a = &self.unscaled * pow10((s - self.scale) as u32);
        let b = &other.unscaled * pow10((s - other.scale) as u32);
        a.cmp(&b)
    }

    /// Exact conversion from a double, like `new BigDecimal(Double.toString(d))`.
    pub fn from_f64_str(d: f64) -> Option<BigDecimal> {
        BigDecimal::parse(&crate::data::javafmt::double_to_string(d))
    }

    /// Big-endian two's complement of the unscaled value (Java `toByteArray`).
    pub fn unscaled_bytes(&self) -> Vec<u8> {
        if self.unscaled.is_zero() {
            return vec![0];
        }
        self.unscaled.to_signed_bytes_be()
    }

    pub fn from_unscaled_bytes(bytes: &[u8], scale: i32) -> BigDecimal {
        let v = if bytes.is_empty() {
            BigInt::zero()
        } else {
            BigInt::from_signed_bytes_be(bytes)
        };
        BigDecimal::new(v, scale)
    }

    pub fn is_zero(&self) -> bool {
        self.unscaled.is_zero()
    }
}

impl fmt::Display for BigDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_java_string())
    }
}

fn pow10(n: u32) -> BigInt {
    let mut v = BigInt::one();
    let ten = BigInt::from(10);
    for _ in 0..n.min(100_000) {
        v *= &ten;
    }
    v
}

/// The low 64 bits of a big integer as a signed value (Java `longValue()`).
pub fn low_i64(v: &BigInt) -> i64 {
    if let Some(x) = v.to_i64() {
        return x;
    }
    let bytes = v.to_signed_bytes_le();
    let fill = if v.sign() == Sign::Minus { 0xff } else { 0 };
    let mut buf = [fill; 8];
    for (i, b) in bytes.iter().take(8).enumerate() {
        buf[i] = *b;
    }
    i64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_to_string() {
        let cases = [
            ("123.45", "123.45"),
            ("-0.001", "-0.001"),
            ("0.0000001", "1E-7"),
            ("1E+3", "1E+3"),
            ("12.3E+7", "1.23E+8"),
            ("0.00", "0.00"),
            ("-1.5E-10", "-1.5E-10"),
            ("100", "100"),
        ];
        for (input, want) in cases {
            assert_eq!(
                BigDecimal::parse(input).unwrap().to_java_string(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn bytes_round_trip_like_biginteger() {
        let d = BigDecimal::parse("-1.28").unwrap();
        assert_eq!(d.unscaled_bytes(), vec![0x80]);
        assert_eq!(
            BigDecimal::parse("1.28").unwrap().unscaled_bytes(),
            vec![0x00, 0x80]
        );
        assert_eq!(
            BigDecimal::parse("-1.29").unwrap().unscaled_bytes(),
            vec![0xff, 0x7f]
        );
        assert_eq!(BigDecimal::from_unscaled_bytes(&[0x80], 2), d);
        assert_eq!(BigDecimal::zero().unscaled_bytes(), vec![0]);
    }

    #[test]
    fn narrowing() {
        assert_eq!(BigDecimal::parse("12.99").unwrap().long_value(), 12);
        assert_eq!(BigDecimal::parse("-12.99").unwrap().long_value(), -12);
        assert_eq!(
            BigDecimal::parse("18446744073709551617")
                .unwrap()
                .long_value(),
            1
        );
        assert!(BigDecimal::parse("1.").is_some());
        assert!(BigDecimal::parse("abc").is_none());
        assert!(BigDecimal::parse("1e").is_none());
    }
}
