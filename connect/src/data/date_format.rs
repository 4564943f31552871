//! A `java.text.SimpleDateFormat` for the UTC zone: the pattern language that
//! `TimestampConverter.format`, `TimestampRouter.timestamp.format` and Connect's
//! ISO-8601 string forms use. Formatting covers every pattern letter; parsing
//! is lenient like Java's (out-of-range fields roll over, trailing text is ignored).

use super::DataError;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Clone, Debug, PartialEq)]
enum Item {
    Literal(String),
    Field(char, usize),
}

/// A compiled pattern. Construction fails like `new SimpleDateFormat(p)`
/// does on an unknown letter or an unterminated quote.
#[derive(Clone, Debug)]
pub struct SimpleDateFormat {
    pattern: String,
    items: Vec<Item>,
}

const LETTERS: &str = "GyYMLwWDdFEuaHkKhmsSzZX";

impl SimpleDateFormat {
    pub fn new(pattern: &str) -> Result<SimpleDateFormat, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if i + 1 < chars.len() && chars[i + 1] == '\'' {
                    lit.push('\'');
                    i += 2;
                    continue;
                }
                // quoted run: '' inside means one quote
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if i + 1 < chars.len() && chars[i + 1] == '\'' {
                            lit.push('\'');
                            i += 2;
                            continue;
                        }
                        closed = true;
                        i += 1;
                        break;
                    }
                    lit.push(chars[i]);
                    i += 1;
                }
                if !closed {
                    return Err("Unterminated quote".into());
                }
                continue;
            }
            if c.is_ascii_alphabetic() {
                if !LETTERS.contains(c) {
                    return Err(format!("Illegal pattern character '{c}'"));
                }
                if !lit.is_empty() {
                    items.push(Item::Literal(std::mem::take(&mut lit)));
                }
                let mut n = 1;
                while i + n < chars.len() && chars[i + n] == c {
                    n += 1;
                }
                items.push(Item::Field(c, n));
                i += n;
                continue;
            }
            lit.push(c);
            i += 1;
        }
        if !lit.is_empty() {
            items.push(Item::Literal(lit));
        }
        Ok(SimpleDateFormat {
            pattern: pattern.to_string(),
            items,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn format(&self, millis: i64) -> String {
        let t = Civil::from_millis(millis);
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Field(c, n) => format_field(&mut out, *c, *n, &t),
            }
        }
        out
    }

    /// `DateFormat.parse(String)` in UTC, returning epoch millis.
    pub fn parse(&self, text: &str) -> Result<i64, DataError> {
        self.parse_inner(text)
            .ok_or_else(|| DataError::new(format!("Unparseable date: \"{text}\"")))
    }

    fn parse_inner(&self, text: &str) -> Option<i64> {
        let chars: Vec<char> = text.chars().collect();
        let mut pos = 0usize;
        let mut year: i64 = 1970;
        let mut month: i64 = 0;
        let mut day: i64 = 1;
        let mut hour: i64 = 0;
        let mut hour12: Option<i64> = None;
        let mut pm: Option<bool> = None;
        let mut minute: i64 = 0;
        let mut second: i64 = 0;
        let mut milli: i64 = 0;
        let mut offset_ms: i64 = 0;
        let mut day_of_year: Option<i64> = None;
        for (idx, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(s) => {
                    for lc in s.chars() {
                        if pos < chars.len() && chars[pos] == lc {
                            pos += 1;
                        } else if lc.is_whitespace() {
                            // Java lets a literal space match nothing at the end only when lenient; be strict otherwise
                            return None;
                        } else {
                            return None;
                        }
                    }
                }
                Item::Field(c, n) => {
                    let abutting = matches!(self.items.get(idx + 1), Some(Item::Field(nc, nn)) if is_numeric(*nc, *nn));
                    match c {
                        'M' | 'L' if *n >= 3 => {
                            let (m, used) = match_name(&chars[pos..], &MONTHS)?;
                            month = m as i64;
                            pos += used;
                        }
                        'E' => {
                            let (_, used) = match_name(&chars[pos..], &DAYS)?;
                            pos += used;
                        }
                        'a' => {
                            let rest: String = chars[pos..]
                                .iter()
                                .take(2)
                                .collect::<String>()
                                .to_ascii_uppercase();
                            if rest == "AM" {
                                pm = Some(false);
                            } else if rest == "PM" {
                                pm = Some(true);
                            } else {
                                return None;
                            }
                            pos += 2;
                        }
                        'G' => {
                            let rest: String = chars[pos..]
                                .iter()
                                .take(2)
                                .collect::<String>()
                                .to_ascii_uppercase();
                            if rest != "AD" && rest != "BC" {
                                return None;
                            }
                            pos += 2;
                        }
                        'z' | 'Z' | 'X' => {
                            let (off, used) = parse_zone(&chars[pos..])?;
                            offset_ms = off;
                            pos += used;
                        }
                        _ => {
                            let (v, used) = parse_number(
                                &chars[pos..],
                                if abutting { Some(*n) } else { None },
                            )?;
                            pos += used;
                            match c {
                                'y' | 'Y' => {
                                    year = if *n <= 2 && used == 2 && v >= 0 {
                                        two_digit_year(v)
                                    } else {
                                        v
                                    };
                                }
                                'M' | 'L' => month = v - 1,
                                'd' => day = v,
                                'D' => day_of_year = Some(v),
                                'H' => hour = v,
                                'k' => hour = if v == 24 { 0 } else { v },
                                'K' => hour12 = Some(v),
                                'h' => hour12 = Some(if v == 12 { 0 } else { v }),
                                'm' => minute = v,
                                's' => second = v,
                                'S' => milli = v,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        if let Some(h) = hour12 {
            hour = h + if pm == Some(true) { 12 } else { 0 };
        } else if pm == Some(true) && hour < 12 {
            // 'a' with 'H' is ignored by Java; keep H as given
        }
        let days = match day_of_year {
            Some(doy) => days_from_civil(year, 1, 1) + doy - 1,
            None => {
                let y = year + month.div_euclid(12);
                let m = month.rem_euclid(12) + 1;
                days_from_civil(y, m, 1) + day - 1
            }
        };
        let millis = days
            .checked_mul(86_400_000)?
            .checked_add(hour * 3_600_000 + minute * 60_000 + second * 1000 + milli)?
            .checked_sub(offset_ms)?;
        Some(millis)
    }
}

fn is_numeric(c: char, n: usize) -> bool {
    match c {
        'M' | 'L' => n <= 2,
        'y' | 'Y' | 'd' | 'D' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' | 'w' | 'W' | 'F' | 'u' => {
            true
        }
        _ => false,
    }
}

fn two_digit_year(v: i64) -> i64 {
    // SimpleDateFormat maps 2-digit years into [now-80y, now+20y).
    let now_year = Civil::from_millis(now_millis()).year;
    let start = now_year - 80;
    let century = start - start.rem_euclid(100);
    let mut y = century + v;
    if y < start {
        y += 100;
    }
    y
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn parse_number(chars: &[char], width: Option<usize>) -> Option<(i64, usize)> {
    let mut i = 0;
    let mut neg = false;
    if i < chars.len() && (chars[i] == '-' || chars[i] == '+') && width.is_none() {
        neg = chars[i] == '-';
        i += 1;
    }
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() && width.is_none_or(|w| i - start < w) {
        i += 1;
    }
    if i == start {
        return None;
    }
    let s: String = chars[start..i].iter().collect();
    let v: i64 = s.parse().ok()?;
    Some((if neg { -v } else { v }, i))
}

fn match_name(chars: &[char], names: &[&str]) -> Option<(usize, usize)> {
    let rest: String = chars.iter().collect::<String>().to_lowercase();
    for (i, n) in names.iter().enumerate() {
        if rest.starts_with(&n.to_lowercase()) {
            return Some((i, n.chars().count()));
        }
    }
    for (i, n) in names.iter().enumerate() {
        let short: String = n.chars().take(3).collect::<String>().to_lowercase();
        if rest.starts_with(&short) {
            return Some((i, 3));
        }
    }
    None
}

fn parse_zone(chars: &[char]) -> Option<(i64, usize)> {
    let s: String = chars.iter().collect();
    if s.starts_with('Z') {
        return Some((0, 1));
    }
    for name in ["UTC", "GMT"] {
        if let Some(rest) = s.strip_prefix(name) {
            if rest.starts_with('+') || rest.starts_with('-') {
                let (off, used) = parse_offset(&chars[3..])?;
                return Some((off, 3 + used));
            }
            return Some((0, 3));
        }
    }
    parse_offset(chars)
}

fn parse_offset(chars: &[char]) -> Option<(i64, usize)> {
    let sign = match chars.first()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digit = |i: usize| chars.get(i).and_then(|c| c.to_digit(10)).map(|d| d as i64);
    let hh = digit(1)? * 10 + digit(2)?;
    let mut used = 3;
    let mut mm = 0;
    if chars.get(3) == Some(&':') {
        if let (Some(a), Some(b)) = (digit(4), digit(5)) {
            mm = a * 10 + b;
            used = 6;
        }
    } else if let (Some(a), Some(b)) = (digit(3), digit(4)) {
        mm = a * 10 + b;
        used = 5;
    }
    Some((sign * (hh * 3_600_000 + mm * 60_000), used))
}

fn pad(out: &mut String, v: i64, width: usize) {
    let s = v.abs().to_string();
    if v < 0 {
        out.push('-');
    }
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(&s);
}

fn format_field(out: &mut String, c: char, n: usize, t: &Civil) {
    match c {
        'G' => out.push_str(if t.year > 0 { "AD" } else { "BC" }),
        'y' | 'Y' => {
            let y = if t.year > 0 { t.year } else { 1 - t.year };
            if n == 2 {
                pad(out, y % 100, 2)
            } else {
                pad(out, y, n)
            }
        }
        'M' | 'L' => {
            if n >= 4 {
                out.push_str(MONTHS[t.month as usize - 1])
            } else if n == 3 {
                out.push_str(&MONTHS[t.month as usize - 1][..3])
            } else {
                pad(out, t.month, n)
            }
        }
        'd' => pad(out, t.day, n),
        'D' => pad(out, t.day_of_year, n),
        'F' => pad(out, (t.day - 1) / 7 + 1, n),
        'E' => {
            if n >= 4 {
                out.push_str(DAYS[t.weekday as usize])
            } else {
                out.push_str(&DAYS[t.weekday as usize][..3])
            }
        }
        'u' => pad(out, if t.weekday == 0 { 7 } else { t.weekday }, n),
        'w' => pad(out, t.week_of_year(), n),
        'W' => pad(out, t.week_of_month(), n),
        'a' => out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
        'H' => pad(out, t.hour, n),
        'k' => pad(out, if t.hour == 0 { 24 } else { t.hour }, n),
        'K' => pad(out, t.hour % 12, n),
        'h' => pad(out, if t.hour % 12 == 0 { 12 } else { t.hour % 12 }, n),
        'm' => pad(out, t.minute, n),
        's' => pad(out, t.second, n),
        'S' => pad(out, t.milli, n),
        'z' => out.push_str(if n >= 4 {
            "Coordinated Universal Time"
        } else {
            "UTC"
        }),
        'Z' => out.push_str("+0000"),
        'X' => out.push('Z'),
        _ => {}
    }
}

/// A UTC calendar breakdown of epoch millis (proleptic Gregorian).
#[derive(Clone, Copy, Debug)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub milli: i64,
    pub weekday: i64,
    pub day_of_year: i64,
}

impl Civil {
    pub fn from_millis(ms: i64) -> Civil {
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3_600_000,
            minute: rem / 60_000 % 60,
            second: rem / 1000 % 60,
            milli: rem % 1000,
            weekday: (days + 4).rem_euclid(7),
            day_of_year: days - days_from_civil(year, 1, 1) + 1,
        }
    }

    /// US rules (weeks start on Sunday, week 1 holds January 1st).
    fn week_of_year(&self) -> i64 {
        let jan1_weekday = (self.weekday - (self.day_of_year - 1)).rem_euclid(7);
        let week = (self.day_of_year - 1 + jan1_weekday) / 7 + 1;
        // The last days of December can belong to week 1 of the next year.
        let days_in_year = days_from_civil(self.year + 1, 1, 1) - days_from_civil(self.year, 1, 1);
        let days_left_in_week = 6 - self.weekday;
        if self.day_of_year + days_left_in_week > days_in_year {
            1
        } else {
            week
        }
    }

    fn week_of_month(&self) -> i64 {
        let first_weekday = (self.weekday - (self.day - 1)).rem_euclid(7);
        (self.day - 1 + first_weekday) / 7 + 1
    }
}

/// Days since 1970-01-01 of a civil date (month 1-12); lenient in `day`.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `java.util.Date.toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date_to_string(ms: i64) -> String {
    SimpleDateFormat::new("EEE MMM dd HH:mm:ss zzz yyyy")
        .map(|f| f.format(ms))
        .unwrap_or_default()
}

pub const ISO_8601_DATE: &str = "yyyy-MM-dd";
pub const ISO_8601_TIME: &str = "HH:mm:ss.SSS'Z'";
pub const ISO_8601_TIMESTAMP: &str = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";

/// `Values.dateFormatFor(date).format(date)`: a time, a date or a timestamp
/// depending on the value.
pub fn iso_format_for(ms: i64) -> String {
    let pattern = if ms < super::logical::MILLIS_PER_DAY {
        ISO_8601_TIME
    } else if ms % super::logical::MILLIS_PER_DAY == 0 {
        ISO_8601_DATE
    } else {
        ISO_8601_TIMESTAMP
    };
    SimpleDateFormat::new(pattern)
        .map(|f| f.format(ms))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_java() {
        let f = SimpleDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").unwrap();
        assert_eq!(f.format(1519304105213), "2018-02-22T12:55:05.213Z");
        assert_eq!(
            SimpleDateFormat::new("yyyyMMdd").unwrap().format(0),
            "19700101"
        );
        assert_eq!(java_date_to_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            SimpleDateFormat::new("EEEE, MMMM d, yy h:mm a")
                .unwrap()
                .format(1519304105213),
            "Thursday, February 22, 18 12:55 PM"
        );
        assert!(SimpleDateFormat::new("yyyy-qq").is_err());
    }

    #[test]
    fn parses_like_java() {
        let f = SimpleDateFormat::new("yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(f.parse("2018-02-22 12:55:05").unwrap(), 1519304105000);
        // lenient: month 13 rolls into the next year, trailing text is ignored
        assert_eq!(f.parse("2017-14-22 12:55:05 extra").unwrap(), 1519304105000);
        assert!(f.parse("22/02/2018").is_err());
        let compact = SimpleDateFormat::new("yyyyMMddHHmmss").unwrap();
        assert_eq!(compact.parse("20180222125505").unwrap(), 1519304105000);
        let iso = SimpleDateFormat::new("yyyy-MM-dd'T'HH:mm:ssX").unwrap();
        assert_eq!(iso.parse("2020-02-17T15:22:00Z").unwrap(), 1581952920000);
    }
}
