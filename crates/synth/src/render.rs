//! Procedural scenes: background by setting and time of day, objects drawn as shapes, then
//! lighting, night lights, rain and pixel noise. Returns the concepts actually drawn.

mod animals;
mod effects;
mod food;
mod objects;
mod people;
mod props;
mod scene;
mod vehicles;

use std::collections::BTreeSet;

use image::RgbImage;
use rand::seq::SliceRandom;
use rand::Rng;

use super::concept::{Concept, SceneSpec, Setting};
use super::draw::{arc, circle, ellipse, line, mix, poly, rect, ring, shade, vgradient, Colour};
use super::palette as pal;

use Concept as C;

/// A rendered scene and the concepts it really shows.
pub(crate) struct Rendered {
    pub image: RgbImage,
    pub concepts: Vec<Concept>,
}

/// Something that glows at night, drawn after the darkening.
enum Light {
    Window(f32, f32, f32, f32),
    Headlight(f32, f32, f32),
    Lamp(f32, f32, f32),
}

/// Where a person's hands and feet are, for umbrellas, bags and skis.
#[derive(Clone, Copy)]
struct Body {
    x: f32,
    foot: f32,
    height: f32,
    hand_l: (f32, f32),
    hand_r: (f32, f32),
}

/// One object to draw: what, where (foot point) and how big (pixels per unit).
struct Placed {
    what: Concept,
    x: f32,
    y: f32,
    s: f32,
}

/// Drawing state for one scene.
struct Painter<'a, R: Rng> {
    img: RgbImage,
    rng: &'a mut R,
    spec: &'a SceneSpec,
    /// Image side in pixels.
    w: f32,
    /// Horizon (outdoors) or table edge (indoors), in pixels.
    horizon: f32,
    /// Bottom of the sea band on the beach.
    sea: f32,
    drawn: BTreeSet<Concept>,
    lights: Vec<Light>,
    yellow: Option<Concept>,
}

/// Renders `spec` as a `size` x `size` RGB image with pixel noise of amplitude `noise`.
pub(crate) fn render<R: Rng>(spec: &SceneSpec, size: u32, noise: u8, rng: &mut R) -> Rendered {
    let w = size as f32;
    let horizon = w * rng.gen_range(0.40..0.56);
    let yellow_targets: Vec<Concept> = [C::Car, C::Umbrella, C::Bike, C::Bag, C::Boat, C::Flower]
        .into_iter()
        .filter(|c| spec.has(*c))
        .collect();
    let yellow = if spec.has(C::Yellow) {
        yellow_targets.choose(rng).copied()
    } else {
        None
    };
    let mut p = Painter {
        img: RgbImage::new(size, size),
        rng,
        spec,
        w,
        horizon,
        sea: horizon + (w - horizon) * 0.4,
        drawn: BTreeSet::new(),
        lights: Vec::new(),
        yellow,
    };
    p.background();
    p.objects();
    p.lighting();
    p.night_lights();
    p.rain();
    p.noise(noise);
    Rendered {
        image: p.img,
        concepts: p.drawn.into_iter().collect(),
    }
}

impl<R: Rng> Painter<'_, R> {
    fn r(&mut self, lo: f32, hi: f32) -> f32 {
        self.rng.gen_range(lo..hi)
    }

    fn pick(&mut self, colours: &[Colour]) -> Colour {
        let c = colours[self.rng.gen_range(0..colours.len())];
        let f = self.r(0.88, 1.12);
        shade(c, f)
    }

    /// The colour of `what`: yellow when it is the scene's yellow object, else from `colours`.
    fn colour_of(&mut self, what: Concept, colours: &[Colour]) -> Colour {
        if self.yellow == Some(what) {
            self.drawn.insert(C::Yellow);
            let f = self.r(0.92, 1.04);
            shade(pal::YELLOW, f)
        } else {
            self.pick(colours)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concept::sample_scene;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn renders_every_concept_it_is_asked_for() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..300 {
            let spec = sample_scene(&mut rng, 2, 4, 0.45);
            let out = render(&spec, 120, 4, &mut rng);
            assert_eq!(out.image.dimensions(), (120, 120));
            assert_eq!(out.concepts, spec.concepts, "{spec:?}");
        }
    }
}
