//! [`Figure`]: a number with its range, unit, basis (measured or estimated) and derivation.

use serde::{Deserialize, Serialize};

/// Whether a figure was read from an instrument or derived from assumptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Read from a counter or sensor (RAPL energy, NVML power, a miner's own report).
    Measured,
    /// Derived from observed shares, typical hardware or configured factors.
    Estimated,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Measured => "measured",
            Basis::Estimated => "estimated",
        }
    }
}

/// A figure is never a bare number: it carries a range, a unit, its basis and how it was derived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Unit symbol: `H/s`, `W`, `kWh`, `kWh/day`, `kgce`, `kg CO2`, `yuan`...
    pub unit: String,
    pub basis: Basis,
    /// Human-readable derivation, e.g. "28.1 TH/s x 29.5 J/TH (S19 Pro) +-20%".
    pub method: String,
}

impl Figure {
    /// A measured figure: no spread beyond the instrument's own.
    pub fn measured(value: f64, unit: &str, method: impl Into<String>) -> Self {
        Figure {
            value,
            low: value,
            high: value,
            unit: unit.to_string(),
            basis: Basis::Measured,
            method: method.into(),
        }
    }

    /// An estimated figure with an explicit range (sorted so that `low <= value <= high`).
    pub fn estimated(
        value: f64,
        low: f64,
        high: f64,
        unit: &str,
        method: impl Into<String>,
    ) -> Self {
        let lo = low.min(value).min(high);
        let hi = high.max(value).max(low);
        Figure {
            value,
            low: lo,
            high: hi,
            unit: unit.to_string(),
            basis: Basis::Estimated,
            method: method.into(),
        }
    }

    /// Multiply value and range by a non-negative factor; basis kept, method extended.
    pub fn scaled(&self, factor: f64, unit: &str, step: &str) -> Figure {
        let (a, b) = (self.low * factor, self.high * factor);
        Figure {
            value: self.value * factor,
            low: a.min(b),
            high: a.max(b),
            unit: unit.to_string(),
            basis: self.basis,
            method: format!("{}; {}", self.method, step),
        }
    }

    /// Multiply by a factor that itself has a range (e.g. J/TH with +-20%). The result is
    /// estimated whenever the factor is an assumption.
    pub fn times_range(
        &self,
        factor: f64,
        factor_low: f64,
        factor_high: f64,
        unit: &str,
        step: &str,
    ) -> Figure {
        Figure::estimated(
            self.value * factor,
            self.low * factor_low,
            self.high * factor_high,
            unit,
            format!("{}; {}", self.method, step),
        )
    }

    /// The sum of figures in one unit (power of several machines): values and ranges add,
    /// measured only when every part is, methods joined. `None` for no figures.
    pub fn sum(parts: &[Figure]) -> Option<Figure> {
        let first = parts.first()?;
        if parts.len() == 1 {
            return Some(first.clone());
        }
        Some(Figure {
            value: parts.iter().map(|f| f.value).sum(),
            low: parts.iter().map(|f| f.low).sum(),
            high: parts.iter().map(|f| f.high).sum(),
            unit: first.unit.clone(),
            basis: if parts.iter().all(|f| f.basis == Basis::Measured) {
                Basis::Measured
            } else {
                Basis::Estimated
            },
            method: parts
                .iter()
                .map(|f| f.method.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
        })
    }

    /// True when all three numbers are finite and `low <= value <= high`.
    pub fn is_consistent(&self) -> bool {
        self.value.is_finite()
            && self.low.is_finite()
            && self.high.is_finite()
            && self.low <= self.value
            && self.value <= self.high
    }
}

/// Format a number with an SI prefix: `28.1 T`, `512 k`, `3.2` (for tables and methods).
pub fn si(value: f64) -> String {
    const PREFIXES: [(f64, &str); 6] = [
        (1e18, "E"),
        (1e15, "P"),
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
    ];
    if !value.is_finite() {
        return format!("{value}");
    }
    for (scale, prefix) in PREFIXES {
        if value.abs() >= scale {
            return format!("{} {prefix}", three_significant(value / scale));
        }
    }
    three_significant(value)
}

/// At most three significant digits, no trailing zeros: 28.1, 512, 0.404.
pub fn three_significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = v.abs().log10().floor() as i32;
    let decimals = (2 - digits).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Group thousands with commas for money and tonnes: 54040.5 -> "54,041".
pub fn grouped(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let rounded = v.round();
    let negative = rounded < 0.0;
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if negative {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_add_values_and_ranges_and_are_measured_only_when_every_part_is() {
        let a = Figure::measured(100.0, "W", "RAPL");
        let b = Figure::estimated(50.0, 40.0, 60.0, "W", "GPU class");
        let s = Figure::sum(&[a.clone(), b]).unwrap();
        assert_eq!((s.value, s.low, s.high), (150.0, 140.0, 160.0));
        assert_eq!(s.basis, Basis::Estimated);
        assert_eq!(s.method, "RAPL + GPU class");
        assert_eq!(
            Figure::sum(&[a.clone(), a.clone()]).unwrap().basis,
            Basis::Measured
        );
        assert_eq!(Figure::sum(std::slice::from_ref(&a)), Some(a.clone()));
        assert_eq!(Figure::sum(&[]), None);
    }

    #[test]
    fn estimated_sorts_its_range() {
        let f = Figure::estimated(10.0, 12.0, 8.0, "W", "x");
        assert_eq!((f.low, f.value, f.high), (8.0, 10.0, 12.0));
        assert!(f.is_consistent());
    }

    #[test]
    fn formats() {
        assert_eq!(si(28.147e12), "28.1 T");
        assert_eq!(si(512.0), "512");
        assert_eq!(three_significant(0.404), "0.404");
        assert_eq!(grouped(54_040.5), "54,041");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(-1_000_000.0), "-1,000,000");
    }
}
