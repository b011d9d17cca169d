//! One generated picture with what it shows: what the generator makes and the contact sheet
//! draws (a module of its own, so neither depends on the other for it).

use image::RgbImage;

/// One generated image with its caption and true concepts.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The city folder it is written under (one of the layout's cities).
    pub city: String,
    /// The image id (its file stem in the layout).
    pub id: String,
    /// The picture, `size x size` RGB.
    pub image: RgbImage,
    /// The noisy caption written beside it.
    pub caption: String,
    /// Concept names actually drawn, in [`super::CONCEPTS`] order.
    pub concepts: Vec<String>,
}
