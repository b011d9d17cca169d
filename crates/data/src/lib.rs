//! InstaCities1M layout, splits, parallel image loading, and the InstaCities-style generator.
