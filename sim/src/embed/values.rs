//! Parsing flag values as Go's `flag` and `strconv` packages do (booleans, unsigned
//! and signed integers in base 0, durations), with their error texts.

use std::time::Duration;

/// Go's `strconv.ParseBool`.
///
/// # Errors
///
/// `parse error` (Go's `errParse`, as the flag package reports it).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err("parse error".into()),
    }
}

/// Splits Go's base-0 prefixes (`0x`, `0o`, `0b`, a leading `0` for octal) and drops
/// `_` separators (allowed only with a prefix in Go; accepted anywhere here).
fn radix_digits(s: &str) -> (u32, String) {
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    (radix, digits.replace('_', ""))
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
///
/// # Errors
///
/// `parse error` or `value out of range`, as the flag package reports them.
pub fn parse_uint(s: &str) -> Result<u64, String> {
    let (radix, digits) = radix_digits(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err("parse error".into());
    }
    u64::from_str_radix(&digits, radix).map_err(|_| "value out of range".into())
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
///
/// # Errors
///
/// `parse error` or `value out of range`.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let magnitude = parse_uint(body)?;
    let value = i128::from(magnitude) * if negative { -1 } else { 1 };
    i64::try_from(value).map_err(|_| "value out of range".into())
}

/// Go's `time.ParseDuration` for non-negative durations (`300ms`, `1h30m`, `1.5s`,
/// `0`).
///
/// # Errors
///
/// `parse error`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || "parse error".to_string();
    let body = s.strip_prefix('+').unwrap_or(s);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(bad());
    }
    let mut rest = body;
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return Err(bad());
        }
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total_ns += value * scale;
        rest = next;
    }
    if total_ns > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Duration::from_nanos(total_ns.round() as u64))
}

/// Go's `Duration.String()` for the durations our defaults use (`5s`, `2h0m0s`,
/// `100ms`, `0s`).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    if d < Duration::from_secs(1) {
        let ns = d.as_nanos();
        return if ns % 1_000_000 == 0 {
            format!("{}ms", ns / 1_000_000)
        } else if ns % 1000 == 0 {
            format!("{}µs", ns / 1000)
        } else {
            format!("{ns}ns")
        };
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let sec = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{:09}", frac);
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{h}h{m}m{sec}")
    } else if m > 0 {
        format!("{m}m{sec}")
    } else {
        sec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_numbers_and_bools() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert_eq!(parse_bool("yes").unwrap_err(), "parse error");
        assert_eq!(parse_uint("100000"), Ok(100_000));
        assert_eq!(parse_uint("0x10"), Ok(16));
        assert_eq!(parse_uint("010"), Ok(8));
        assert_eq!(parse_uint("abc").unwrap_err(), "parse error");
        assert_eq!(parse_uint("-1").unwrap_err(), "parse error");
        assert_eq!(
            parse_uint("99999999999999999999").unwrap_err(),
            "value out of range"
        );
        assert_eq!(parse_int("-5"), Ok(-5));
        assert_eq!(
            parse_int("9223372036854775808").unwrap_err(),
            "value out of range"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h0m0s");
        assert_eq!(format_duration(Duration::from_secs(20)), "20s");
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m0s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
