"""Customer models: lifetime value, churn, segments, recommendations."""
