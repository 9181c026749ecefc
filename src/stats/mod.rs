//! Stats, modelled on OpenCensus: measures, views, aggregations and tags.
//!
//! Values are recorded against an interned tag set; each view of the measure adds them to the
//! time series of the view's column values. Points are cumulative from the view's registration.

pub mod aggregation;
pub mod tags;
pub mod view;

use crate::diagnostics::Diagnostics;
use aggregation::Aggregation;
use tags::{TagError, TagSets};
use view::{validate_name, DefinitionError, Measure, MeasureKind, RecordOutcome, View, ViewState};

/// Caps that keep memory bounded whatever the app records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsLimits {
    pub max_series_per_view: usize,
    pub max_tag_sets: usize,
    pub max_views: usize,
    pub max_measures: usize,
}

impl Default for StatsLimits {
    fn default() -> Self {
        StatsLimits { max_series_per_view: 1000, max_tag_sets: 10_000, max_views: 256, max_measures: 256 }
    }
}

pub struct Stats {
    limits: StatsLimits,
    measures: Vec<Measure>,
    views: Vec<ViewState>,
    /// By measure index: the indexes of its views.
    views_of_measure: Vec<Vec<usize>>,
    tag_sets: TagSets,
}

impl Stats {
    pub fn new(limits: StatsLimits) -> Stats {
        Stats {
            limits,
            measures: Vec::new(),
            views: Vec::new(),
            views_of_measure: Vec::new(),
            tag_sets: TagSets::new(limits.max_tag_sets),
        }
    }

    /// Registers a measure, or returns the existing one of the same definition.
    pub fn register_measure(&mut self, measure: Measure) -> Result<u32, DefinitionError> {
        validate_name(&measure.name)?;
        if let Some(i) = self.measures.iter().position(|m| m.name == measure.name) {
            return if self.measures[i] == measure {
                Ok(i as u32)
            } else {
                Err(DefinitionError::Conflict(measure.name))
            };
        }
        if self.measures.len() >= self.limits.max_measures {
            return Err(DefinitionError::TooMany);
        }
        self.measures.push(measure);
        self.views_of_measure.push(Vec::new());
        Ok(self.measures.len() as u32 - 1)
    }

    pub fn measure_index(&self, name: &str) -> Option<u32> {
        self.measures.iter().position(|m| m.name == name).map(|i| i as u32)
    }
    pub fn measure(&self, index: u32) -> Option<&Measure> {
        self.measures.get(index as usize)
    }

    /// Registers a view. Registering the same definition again is a no-op; another definition
    /// under the same name is an error. A view sees only what is recorded after it exists.
    pub fn register_view(&mut self, view: View, now_unix_nanos: u64) -> Result<(), DefinitionError> {
        validate_name(&view.name)?;
        if self.measures.get(view.measure as usize).is_none() {
            return Err(DefinitionError::UnknownMeasure(view.measure.to_string()));
        }
        for column in &view.columns {
            tags::validate_key(column)
                .map_err(|_| DefinitionError::InvalidColumn(column.chars().take(64).collect()))?;
        }
        if let Aggregation::Distribution(bounds) = &view.aggregation {
            Aggregation::distribution(bounds.clone()).map_err(DefinitionError::InvalidBounds)?;
        }
        if let Some(existing) = self.views.iter().find(|v| v.view.name == view.name) {
            return if existing.view == view { Ok(()) } else { Err(DefinitionError::Conflict(view.name)) };
        }
        if self.views.len() >= self.limits.max_views {
            return Err(DefinitionError::TooMany);
        }
        let measure = view.measure as usize;
        self.views.push(ViewState::new(view, now_unix_nanos, self.limits.max_series_per_view));
        if let Some(list) = self.views_of_measure.get_mut(measure) {
            list.push(self.views.len() - 1);
        }
        Ok(())
    }

    pub fn tag_set(&mut self, pairs: Vec<(String, String)>) -> Result<u32, TagError> {
        self.tag_sets.intern(pairs)
    }

    /// Records one value of `measure` against `tag_set`; refusals are counted, never raised.
    pub fn record(&mut self, tag_set: u32, measure: u32, value: f64, diag: &mut Diagnostics) {
        let Some(m) = self.measures.get(measure as usize) else {
            diag.measurements_invalid += 1;
            return;
        };
        let whole = value.fract() == 0.0;
        if !value.is_finite() || (m.kind == MeasureKind::Int && !whole) || self.tag_sets.get(tag_set).is_none() {
            diag.measurements_invalid += 1;
            return;
        }
        // Counted once per measurement: recorded if any view (or no view) took it, invalid if
        // any view refused it.
        let mut taken = false;
        let mut refused = false;
        let views = self.views_of_measure.get(measure as usize).map_or(&[][..], Vec::as_slice);
        for &v in views {
            let Some(view) = self.views.get_mut(v) else { continue };
            match view.record(tag_set, value, &self.tag_sets) {
                RecordOutcome::Recorded => taken = true,
                RecordOutcome::SeriesOverflow => diag.series_overflow += 1,
                RecordOutcome::Refused => refused = true,
            }
        }
        if taken || views.is_empty() {
            diag.measurements_recorded += 1;
        }
        if refused {
            diag.measurements_invalid += 1;
        }
    }

    pub fn views(&self) -> &[ViewState] {
        &self.views
    }

    pub fn has_views(&self) -> bool {
        !self.views.is_empty()
    }

    /// Number of series with data, over all views.
    pub fn series_count(&self) -> usize {
        self.views.iter().map(|v| v.series.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::aggregation::AggregationData;
    use super::*;

    fn measure(name: &str, kind: MeasureKind) -> Measure {
        Measure { name: name.into(), description: "d".into(), unit: "ms".into(), kind }
    }

    fn view(name: &str, measure: u32, aggregation: Aggregation) -> View {
        View { name: name.into(), description: String::new(), measure, columns: vec!["k".into()], aggregation }
    }

    #[test]
    fn measures_and_views_register_once_and_conflicts_are_errors() {
        let mut stats = Stats::new(StatsLimits::default());
        let m = stats.register_measure(measure("latency", MeasureKind::Float)).unwrap();
        assert_eq!(stats.register_measure(measure("latency", MeasureKind::Float)), Ok(m));
        assert_eq!(
            stats.register_measure(measure("latency", MeasureKind::Int)),
            Err(DefinitionError::Conflict("latency".into()))
        );
        stats.register_view(view("v", m, Aggregation::Count), 0).unwrap();
        assert_eq!(stats.register_view(view("v", m, Aggregation::Count), 5), Ok(()));
        assert_eq!(stats.register_view(view("v", m, Aggregation::Sum), 5), Err(DefinitionError::Conflict("v".into())));
        assert!(matches!(
            stats.register_view(view("w", 9, Aggregation::Sum), 0),
            Err(DefinitionError::UnknownMeasure(_))
        ));
        assert!(matches!(
            stats.register_view(view("w", m, Aggregation::Distribution(vec![2.0, 1.0])), 0),
            Err(DefinitionError::InvalidBounds(_))
        ));
        assert!(matches!(
            stats.register_measure(measure("bad\nname", MeasureKind::Int)),
            Err(DefinitionError::InvalidName(_))
        ));
    }

    #[test]
    fn one_recording_feeds_every_view_of_the_measure() {
        let mut diag = Diagnostics::default();
        let mut stats = Stats::new(StatsLimits::default());
        let m = stats.register_measure(measure("bytes", MeasureKind::Int)).unwrap();
        stats.register_view(view("count", m, Aggregation::Count), 0).unwrap();
        stats.register_view(view("sum", m, Aggregation::Sum), 0).unwrap();
        let t = stats.tag_set(vec![("k".into(), "v".into())]).unwrap();
        stats.record(t, m, 10.0, &mut diag);
        stats.record(t, m, 5.0, &mut diag);
        assert_eq!(stats.views()[0].series[0].data, AggregationData::Count(2));
        assert_eq!(stats.views()[1].series[0].data, AggregationData::Sum(15.0));
        assert_eq!(diag.measurements_recorded, 2);
    }

    #[test]
    fn views_registered_later_start_from_then() {
        let mut diag = Diagnostics::default();
        let mut stats = Stats::new(StatsLimits::default());
        let m = stats.register_measure(measure("n", MeasureKind::Int)).unwrap();
        stats.record(0, m, 1.0, &mut diag);
        stats.register_view(view("count", m, Aggregation::Count), 7).unwrap();
        stats.record(0, m, 1.0, &mut diag);
        assert_eq!(stats.views()[0].series[0].data, AggregationData::Count(1));
        assert_eq!(stats.views()[0].start_unix_nanos, 7);
    }

    #[test]
    fn bad_values_are_counted_not_recorded() {
        let mut diag = Diagnostics::default();
        let mut stats = Stats::new(StatsLimits::default());
        let int = stats.register_measure(measure("i", MeasureKind::Int)).unwrap();
        let float = stats.register_measure(measure("f", MeasureKind::Float)).unwrap();
        stats.register_view(view("dist", float, Aggregation::Distribution(vec![1.0])), 0).unwrap();
        stats.record(0, int, 1.5, &mut diag); // not whole
        stats.record(0, float, f64::NAN, &mut diag);
        stats.record(0, float, f64::INFINITY, &mut diag);
        stats.record(0, float, -1.0, &mut diag); // refused by the distribution
        stats.record(0, 42, 1.0, &mut diag); // unknown measure
        stats.record(999, float, 1.0, &mut diag); // unknown tag set
        assert_eq!(diag.measurements_invalid, 6);
        assert!(stats.views()[0].series.is_empty());
    }
}
