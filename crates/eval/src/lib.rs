//! Query sets, relevance, AP / mAP / P@k / R-precision, reports, plots and galleries.
