//! Measures and views: what is recorded, and how each view slices and aggregates it.

use super::aggregation::{Aggregation, AggregationData};
use super::tags::{validate_key, TagSets};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeasureKind {
    Int,
    Float,
}

/// A quantity that can be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub kind: MeasureKind,
}

/// A view of one measure: its tag columns and aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub name: String,
    pub description: String,
    /// The index of the measure (see `Stats::register_measure`).
    pub measure: u32,
    /// Tag keys; one time series per distinct combination of their values.
    pub columns: Vec<String>,
    pub aggregation: Aggregation,
}

/// Marks in `ViewState::series_of_tag_set`.
const UNKNOWN: u32 = u32::MAX;
const OVERFLOW: u32 = u32::MAX - 1;

/// One time series: the view's column values and its running aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// One entry per column; `None` where the tag set lacks that key.
    pub tag_values: Vec<Option<String>>,
    pub data: AggregationData,
}

/// A registered view and its series.
pub struct ViewState {
    pub view: View,
    /// When the view was registered: the start of its cumulative points.
    pub start_unix_nanos: u64,
    pub series: Vec<Series>,
    /// By tag-set id: the series index, `UNKNOWN`, or `OVERFLOW`. Dense, so a hit is an index.
    series_of_tag_set: Vec<u32>,
    max_series: usize,
}

/// What happened to one recorded value in one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    Recorded,
    /// The view is at its series cap and this tag combination is new.
    SeriesOverflow,
    /// The aggregation refuses the value (a negative Sum or Distribution value, or one that
    /// would overflow it).
    Refused,
}

impl ViewState {
    pub fn new(view: View, start_unix_nanos: u64, max_series: usize) -> ViewState {
        ViewState { view, start_unix_nanos, series: Vec::new(), series_of_tag_set: Vec::new(), max_series }
    }

    /// Adds `value` to the series of `tag_set`. No allocation once that series exists.
    pub fn record(&mut self, tag_set: u32, value: f64, tag_sets: &TagSets) -> RecordOutcome {
        if !self.view.aggregation.accepts(value) {
            return RecordOutcome::Refused;
        }
        let slot = self.series_of_tag_set.get(tag_set as usize).copied().unwrap_or(UNKNOWN);
        let index = match slot {
            OVERFLOW => return RecordOutcome::SeriesOverflow,
            UNKNOWN => match self.find_or_add_series(tag_set, tag_sets) {
                Some(index) => index,
                None => return RecordOutcome::SeriesOverflow,
            },
            index => index,
        };
        let bounds: &[f64] = match &self.view.aggregation {
            Aggregation::Distribution(bounds) => bounds,
            _ => &[],
        };
        let added = self.series.get_mut(index as usize).is_some_and(|series| series.data.add(value, bounds));
        if added {
            RecordOutcome::Recorded
        } else {
            RecordOutcome::Refused
        }
    }

    fn find_or_add_series(&mut self, tag_set: u32, tag_sets: &TagSets) -> Option<u32> {
        let values: Vec<Option<String>> =
            self.view.columns.iter().map(|column| tag_sets.value(tag_set, column).map(str::to_owned)).collect();
        let found = self.series.iter().position(|s| s.tag_values == values);
        let index = match found {
            Some(i) => Some(i as u32),
            None if self.series.len() < self.max_series => {
                self.series.push(Series { tag_values: values, data: self.view.aggregation.new_data() });
                Some(self.series.len() as u32 - 1)
            }
            None => None,
        };
        let needed = tag_set as usize + 1;
        if self.series_of_tag_set.len() < needed {
            self.series_of_tag_set.resize(needed, UNKNOWN);
        }
        if let Some(slot) = self.series_of_tag_set.get_mut(tag_set as usize) {
            *slot = index.unwrap_or(OVERFLOW);
        }
        index
    }
}

/// Why a measure or view was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum DefinitionError {
    /// Names are 1 to 255 printable ASCII characters.
    InvalidName(String),
    /// A measure or view of this name exists with another definition.
    Conflict(String),
    UnknownMeasure(String),
    InvalidColumn(String),
    InvalidBounds(super::aggregation::BoundsError),
    TooMany,
}

impl core::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DefinitionError::InvalidName(n) => {
                write!(f, "edgecensus: invalid name \"{n}\": names are 1 to 255 printable ASCII characters")
            }
            DefinitionError::Conflict(n) => {
                write!(f, "edgecensus: \"{n}\" is already registered with another definition")
            }
            DefinitionError::UnknownMeasure(n) => write!(f, "edgecensus: no measure named \"{n}\""),
            DefinitionError::InvalidColumn(c) => write!(f, "edgecensus: invalid view column (tag key) \"{c}\""),
            DefinitionError::InvalidBounds(e) => write!(f, "edgecensus: {e}"),
            DefinitionError::TooMany => f.write_str("edgecensus: too many measures or views"),
        }
    }
}

pub fn validate_name(name: &str) -> Result<(), DefinitionError> {
    validate_key(name).map_err(|_| DefinitionError::InvalidName(name.chars().take(64).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(columns: &[&str], aggregation: Aggregation) -> View {
        View {
            name: "v".into(),
            description: String::new(),
            measure: 0,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            aggregation,
        }
    }

    fn tags(sets: &mut TagSets, pairs: &[(&str, &str)]) -> u32 {
        sets.intern(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap()
    }

    #[test]
    fn one_series_per_combination_of_the_columns() {
        let mut sets = TagSets::new(100);
        let mut v = ViewState::new(view(&["method"], Aggregation::Count), 0, 10);
        let get_a = tags(&mut sets, &[("method", "GET"), ("user", "a")]);
        let get_b = tags(&mut sets, &[("method", "GET"), ("user", "b")]);
        let post = tags(&mut sets, &[("method", "POST")]);
        let none = tags(&mut sets, &[]);
        for t in [get_a, get_b, post, get_a, none] {
            assert_eq!(v.record(t, 1.0, &sets), RecordOutcome::Recorded);
        }
        let summary: Vec<_> = v.series.iter().map(|s| (s.tag_values.clone(), s.data.clone())).collect();
        assert_eq!(
            summary,
            vec![
                (vec![Some("GET".into())], AggregationData::Count(3)),
                (vec![Some("POST".into())], AggregationData::Count(1)),
                (vec![None], AggregationData::Count(1)),
            ]
        );
    }

    #[test]
    fn the_series_cap_counts_overflow_and_keeps_existing_series() {
        let mut sets = TagSets::new(100);
        let mut v = ViewState::new(view(&["k"], Aggregation::Sum), 0, 2);
        let a = tags(&mut sets, &[("k", "a")]);
        let b = tags(&mut sets, &[("k", "b")]);
        let c = tags(&mut sets, &[("k", "c")]);
        assert_eq!(v.record(a, 1.0, &sets), RecordOutcome::Recorded);
        assert_eq!(v.record(b, 1.0, &sets), RecordOutcome::Recorded);
        assert_eq!(v.record(c, 1.0, &sets), RecordOutcome::SeriesOverflow);
        assert_eq!(v.record(c, 1.0, &sets), RecordOutcome::SeriesOverflow);
        assert_eq!(v.record(a, 2.0, &sets), RecordOutcome::Recorded);
        assert_eq!(v.series.len(), 2);
        assert_eq!(v.series[0].data, AggregationData::Sum(3.0));
    }

    #[test]
    fn refused_values_leave_no_series() {
        let sets = TagSets::new(1);
        let mut v = ViewState::new(view(&[], Aggregation::Sum), 0, 2);
        assert_eq!(v.record(0, -1.0, &sets), RecordOutcome::Refused);
        assert!(v.series.is_empty());
    }
}
