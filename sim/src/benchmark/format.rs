//! Go's float formatting as etcd's benchmark prints numbers: `%4.4f` by
//! default, `%g` (shortest) with `--precise`, and `%v` for the percentiles.

/// How a report prints seconds (etcd's `--precise`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Four decimals (`%4.4f`), etcd's default.
    #[default]
    Fixed4,
    /// Go's shortest `%g` (`--precise`).
    Full,
}

impl Precision {
    /// `value` in this precision.
    pub fn fmt(self, value: f64) -> String {
        match self {
            Precision::Fixed4 => format!("{value:4.4}"),
            Precision::Full => go_g(value),
        }
    }
}

/// Go's `%g` / `%v` of a float64: the shortest decimal that reads back the
/// same, in exponent form (`1.5e-05`) when the exponent is below -4 or at
/// least 21.
pub fn go_g(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let exp = value.abs().log10().floor() as i32;
    // log10 can be off by one at exact powers; the scientific form decides.
    let sci = format!("{value:e}");
    let (mantissa, e) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    if !(-4..21).contains(&e) {
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", e.abs())
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_has_four_decimals() {
        assert_eq!(Precision::Fixed4.fmt(0.00123456), "0.0012");
        assert_eq!(Precision::Fixed4.fmt(12.5), "12.5000");
        assert_eq!(Precision::Fixed4.fmt(1234.56789), "1234.5679");
    }

    #[test]
    fn g_is_shortest_with_go_exponents() {
        assert_eq!(go_g(0.000123), "0.000123");
        assert_eq!(go_g(0.0000150), "1.5e-05");
        assert_eq!(go_g(99.9), "99.9");
        assert_eq!(go_g(10.0), "10");
        assert_eq!(go_g(1e21), "1e+21");
        assert_eq!(go_g(0.0), "0");
        assert_eq!(Precision::Full.fmt(0.5), "0.5");
    }
}
