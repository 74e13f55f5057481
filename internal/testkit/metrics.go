package testkit

import dto "github.com/prometheus/client_model/go"

// MetricSum sums the series of the metric family name whose labels include want (nil: every
// series): counter and gauge values, histogram and summary sample counts. A family that is absent
// sums to 0.
func MetricSum(families []*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, want) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue() +
					float64(m.GetHistogram().GetSampleCount()) + float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}
