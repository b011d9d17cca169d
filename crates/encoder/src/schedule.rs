//! Learning rate at a global step.
use crate::config::Schedule;

/// The learning rate at `step` (0-based) of a `total`-step run.
pub fn lr_at(schedule: Schedule, base: f64, step: u64, total: u64) -> f64 {
    match schedule {
        Schedule::Constant => base,
        Schedule::Step { every, gamma } => {
            let k = step / every.max(1);
            base * gamma.powi(i32::try_from(k).unwrap_or(i32::MAX))
        }
        Schedule::Cosine { min_lr } => {
            let t = step as f64 / total.max(1) as f64;
            min_lr + (base - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_cosine() {
        let s = Schedule::Step {
            every: 100,
            gamma: 0.1,
        };
        assert_eq!(lr_at(s, 1.0, 99, 1000), 1.0);
        assert!((lr_at(s, 1.0, 100, 1000) - 0.1).abs() < 1e-12);
        assert!((lr_at(s, 1.0, 250, 1000) - 0.01).abs() < 1e-12);
        let c = Schedule::Cosine { min_lr: 0.0 };
        assert_eq!(lr_at(c, 2.0, 0, 10), 2.0);
        assert!((lr_at(c, 2.0, 5, 10) - 1.0).abs() < 1e-12);
        assert!(lr_at(c, 2.0, 10, 10).abs() < 1e-12);
        assert_eq!(lr_at(Schedule::Constant, 0.5, 7, 10), 0.5);
    }
}
