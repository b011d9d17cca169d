//! The names of InstaCities1M's folder layout: its ten cities and its two folder trees.

/// The ten cities of InstaCities1M. A dataset may hold other city folders too.
pub const CITIES: [&str; 10] = [
    "london",
    "newyork",
    "sydney",
    "losangeles",
    "chicago",
    "melbourne",
    "miami",
    "toronto",
    "singapore",
    "sanfrancisco",
];

/// Image folder, relative to the dataset root.
pub const IMAGE_DIR: &str = "img_resized_1M/cities_instagram";
/// Caption folder, relative to the dataset root.
pub const CAPTION_DIR: &str = "captions_resized_1M/cities_instagram";
/// Image file extensions recognised (lowercase); the reference data only has `jpg`.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];
/// Caption file extension.
pub const CAPTION_EXTENSION: &str = "txt";
