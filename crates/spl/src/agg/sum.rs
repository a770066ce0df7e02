//! An exact running sum of `f64` values, so that `sum` and `avg` do not depend on how the
//! events were split across workers and merged: floating-point addition is not associative,
//! but the correctly rounded value of the exact sum is the same in any order.
//!
//! The state is Shewchuk's list of non-overlapping partial sums (the algorithm behind Python's
//! `math.fsum`); its exact total is the exact sum of every value added.

/// The exact sum of the finite values added so far.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExactSum {
    /// Non-overlapping partial sums in increasing magnitude.
    partials: Vec<f64>,
}

impl ExactSum {
    /// Adds `x` (finite) exactly.
    pub fn add(&mut self, mut x: f64) {
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Adds everything `other` holds.
    pub fn merge(&mut self, other: ExactSum) {
        for p in other.partials {
            self.add(p);
        }
    }

    /// The exact sum rounded to the nearest `f64` (ties to even).
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else {
            return 0.0;
        };
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Round half-even across the remaining partials: when `lo` is exactly half an ulp and
        // the next partial has its sign, the true sum lies beyond the halfway point.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(values: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        values.iter().for_each(|&v| s.add(v));
        s.value()
    }

    #[test]
    fn naive_addition_loses_what_the_exact_sum_keeps() {
        let values = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(values.iter().sum::<f64>(), 1.0);
        assert_eq!(sum(&values), 2.0);
        assert_eq!(sum(&[0.1; 10]), 1.0);
        assert_eq!(sum(&[]), 0.0);
    }

    #[test]
    fn any_split_and_merge_order_gives_the_same_value() {
        let values = [0.1, 0.2, 0.3, 1e-17, 3.5, -0.7, 1e15, 123.456, -1e15, 7e-3];
        let whole = sum(&values);
        for cut in 0..=values.len() {
            let (a, b) = values.split_at(cut);
            let (mut left, mut right) = (ExactSum::default(), ExactSum::default());
            a.iter().for_each(|&v| left.add(v));
            b.iter().for_each(|&v| right.add(v));
            let mut ab = left.clone();
            ab.merge(right.clone());
            right.merge(left);
            assert_eq!(ab.value().to_bits(), whole.to_bits(), "cut {cut}");
            assert_eq!(
                right.value().to_bits(),
                whole.to_bits(),
                "cut {cut}, reversed"
            );
        }
    }
}
