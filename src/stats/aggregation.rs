//! Aggregations (Count, Sum, LastValue, Distribution) and the running data of one time series.

/// How a view aggregates its measure.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregation {
    Count,
    Sum,
    LastValue,
    /// Explicit bucket boundaries, strictly increasing, finite and non-negative. As in
    /// OpenCensus, bucket `i` holds values in `[bounds[i-1], bounds[i])`; the first starts at 0
    /// and the last is unbounded.
    Distribution(Vec<f64>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundsError {
    NotIncreasing,
    NotFinite,
    Negative,
    TooMany,
}

impl core::fmt::Display for BoundsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BoundsError::NotIncreasing => "bucket boundaries must be strictly increasing",
            BoundsError::NotFinite => "bucket boundaries must be finite numbers",
            BoundsError::Negative => "bucket boundaries must not be negative",
            BoundsError::TooMany => "at most 256 bucket boundaries",
        })
    }
}

impl Aggregation {
    pub fn distribution(bounds: Vec<f64>) -> Result<Aggregation, BoundsError> {
        if bounds.len() > 256 {
            return Err(BoundsError::TooMany);
        }
        if bounds.iter().any(|b| !b.is_finite()) {
            return Err(BoundsError::NotFinite);
        }
        if bounds.iter().any(|b| *b < 0.0) {
            return Err(BoundsError::Negative);
        }
        if bounds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(BoundsError::NotIncreasing);
        }
        Ok(Aggregation::Distribution(bounds))
    }

    /// Whether a value may be recorded: Sum (exported as a monotonic counter) and Distribution
    /// (non-negative buckets) refuse negative values.
    pub fn accepts(&self, value: f64) -> bool {
        match self {
            Aggregation::Sum | Aggregation::Distribution(_) => value >= 0.0,
            Aggregation::Count | Aggregation::LastValue => true,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Aggregation::Count => "count",
            Aggregation::Sum => "sum",
            Aggregation::LastValue => "lastValue",
            Aggregation::Distribution(_) => "distribution",
        }
    }

    /// Empty running data for this aggregation.
    pub fn new_data(&self) -> AggregationData {
        match self {
            Aggregation::Count => AggregationData::Count(0),
            Aggregation::Sum => AggregationData::Sum(0.0),
            Aggregation::LastValue => AggregationData::LastValue(0.0),
            Aggregation::Distribution(bounds) => AggregationData::Distribution(DistributionData {
                count: 0,
                mean: 0.0,
                sum_of_squared_deviation: 0.0,
                min: 0.0,
                max: 0.0,
                bucket_counts: vec![0; bounds.len() + 1],
            }),
        }
    }
}

/// The running aggregate of one time series.
#[derive(Clone, Debug, PartialEq)]
pub enum AggregationData {
    Count(u64),
    Sum(f64),
    LastValue(f64),
    Distribution(DistributionData),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DistributionData {
    pub count: u64,
    pub mean: f64,
    /// Σ (x − mean)², kept with Welford's update so it stays exact for large counts.
    pub sum_of_squared_deviation: f64,
    pub min: f64,
    pub max: f64,
    pub bucket_counts: Vec<u64>,
}

impl DistributionData {
    pub fn sum(&self) -> f64 {
        self.mean * self.count as f64
    }
    /// The population standard deviation, √(Σ(x − mean)² / n).
    pub fn std_dev(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.sum_of_squared_deviation / self.count as f64).sqrt()
        }
    }
}

impl AggregationData {
    /// Adds one (already validated) value; allocates nothing. A value that would make the
    /// aggregate overflow to infinity (which has no JSON form) is refused: false, nothing changed.
    pub fn add(&mut self, value: f64, bounds: &[f64]) -> bool {
        match self {
            AggregationData::Count(n) => *n += 1,
            AggregationData::Sum(s) => {
                let next = *s + value;
                if !next.is_finite() {
                    return false;
                }
                *s = next;
            }
            AggregationData::LastValue(v) => *v = value,
            AggregationData::Distribution(d) => {
                let count = d.count + 1;
                let delta = value - d.mean;
                let mean = d.mean + delta / count as f64;
                let ssd = d.sum_of_squared_deviation + delta * (value - mean);
                if !(delta.is_finite() && mean.is_finite() && ssd.is_finite() && (mean * count as f64).is_finite()) {
                    return false;
                }
                if d.count == 0 {
                    d.min = value;
                    d.max = value;
                } else {
                    d.min = d.min.min(value);
                    d.max = d.max.max(value);
                }
                d.count = count;
                d.mean = mean;
                d.sum_of_squared_deviation = ssd;
                let bucket = bounds.partition_point(|b| *b <= value);
                if let Some(slot) = d.bucket_counts.get_mut(bucket) {
                    *slot += 1;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(aggregation: &Aggregation, values: &[f64]) -> AggregationData {
        let bounds = match aggregation {
            Aggregation::Distribution(b) => b.clone(),
            _ => Vec::new(),
        };
        let mut data = aggregation.new_data();
        for v in values {
            data.add(*v, &bounds);
        }
        data
    }

    #[test]
    fn count_sum_and_last_value() {
        assert_eq!(run(&Aggregation::Count, &[5.0, -1.0, 7.0]), AggregationData::Count(3));
        assert_eq!(run(&Aggregation::Sum, &[1.5, 2.5, 4.0]), AggregationData::Sum(8.0));
        assert_eq!(run(&Aggregation::LastValue, &[1.0, -3.0, 2.0]), AggregationData::LastValue(2.0));
    }

    #[test]
    fn distribution_statistics_match_known_values() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x−5)² = 32, population standard deviation 2.
        let agg = Aggregation::distribution(vec![3.0, 5.0, 8.0]).unwrap();
        let AggregationData::Distribution(d) = run(&agg, &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) else {
            unreachable!()
        };
        assert_eq!(d.count, 8);
        assert_eq!(d.mean, 5.0);
        assert_eq!(d.sum_of_squared_deviation, 32.0);
        assert_eq!(d.std_dev(), 2.0);
        assert_eq!(d.sum(), 40.0);
        assert_eq!((d.min, d.max), (2.0, 9.0));
        // [0,3): 2 | [3,5): 4 4 4 | [5,8): 5 5 7 | [8,∞): 9
        assert_eq!(d.bucket_counts, vec![1, 3, 3, 1]);
    }

    #[test]
    fn values_on_a_boundary_go_to_the_upper_bucket() {
        let agg = Aggregation::distribution(vec![1.0, 2.0]).unwrap();
        let AggregationData::Distribution(d) = run(&agg, &[0.0, 1.0, 2.0, 1.999]) else { unreachable!() };
        assert_eq!(d.bucket_counts, vec![1, 2, 1]);
    }

    #[test]
    fn welford_stays_accurate_for_large_offsets() {
        // Naive Σx² − n·mean² loses everything here; Welford keeps Σ(x−mean)² = 1000 × 0.25.
        let agg = Aggregation::distribution(vec![]).unwrap();
        let values: Vec<f64> = (0..1000).map(|i| 1e9 + if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
        let AggregationData::Distribution(d) = run(&agg, &values) else { unreachable!() };
        assert!((d.sum_of_squared_deviation - 250.0).abs() < 1e-6, "{}", d.sum_of_squared_deviation);
        assert_eq!(d.bucket_counts, vec![1000]);
    }

    #[test]
    fn values_that_would_overflow_are_refused() {
        let mut sum = Aggregation::Sum.new_data();
        assert!(sum.add(f64::MAX, &[]));
        assert!(!sum.add(f64::MAX, &[]));
        assert_eq!(sum, AggregationData::Sum(f64::MAX));
        let mut dist = Aggregation::Distribution(vec![]).new_data();
        assert!(dist.add(f64::MAX, &[]));
        assert!(!dist.add(f64::MAX, &[]), "the sum (mean × count) would overflow");
        assert!(!dist.add(0.0, &[]), "the squared deviation would overflow");
        let AggregationData::Distribution(d) = dist else { unreachable!() };
        assert_eq!(d.count, 1);
    }

    #[test]
    fn bounds_are_validated() {
        assert_eq!(Aggregation::distribution(vec![1.0, 1.0]), Err(BoundsError::NotIncreasing));
        assert_eq!(Aggregation::distribution(vec![2.0, 1.0]), Err(BoundsError::NotIncreasing));
        assert_eq!(Aggregation::distribution(vec![f64::NAN]), Err(BoundsError::NotFinite));
        assert_eq!(Aggregation::distribution(vec![-1.0, 1.0]), Err(BoundsError::Negative));
        assert!(Aggregation::distribution(vec![0.0, 0.5, 10.0]).is_ok());
    }

    #[test]
    fn negative_values_are_refused_where_they_make_no_sense() {
        assert!(!Aggregation::Sum.accepts(-1.0));
        assert!(!Aggregation::Distribution(vec![]).accepts(-0.1));
        assert!(Aggregation::LastValue.accepts(-1.0));
        assert!(Aggregation::Count.accepts(-1.0));
    }
}
