//! Colours of the generator. Only "yellow" objects use saturated yellow; chocolate items alone
//! are chocolate brown.

use image::Rgb;

use super::draw::Colour;

pub(crate) const YELLOW: Colour = Rgb([245, 205, 20]);
pub(crate) const CHOCOLATE: Colour = Rgb([100, 58, 32]);
pub(crate) const VEHICLE: &[Colour] = &[
    Rgb([200, 30, 35]),
    Rgb([30, 70, 180]),
    Rgb([235, 235, 235]),
    Rgb([30, 30, 35]),
    Rgb([30, 130, 60]),
    Rgb([160, 165, 170]),
    Rgb([110, 40, 140]),
];
pub(crate) const CLOTHES: &[Colour] = &[
    Rgb([190, 40, 50]),
    Rgb([120, 50, 150]),
    Rgb([230, 110, 160]),
    Rgb([30, 140, 140]),
    Rgb([30, 40, 100]),
    Rgb([60, 140, 70]),
    Rgb([230, 230, 230]),
    Rgb([35, 35, 35]),
];
pub(crate) const TROUSERS: &[Colour] = &[
    Rgb([40, 50, 90]),
    Rgb([50, 50, 55]),
    Rgb([150, 130, 100]),
    Rgb([20, 20, 25]),
];
pub(crate) const SKIN: &[Colour] = &[
    Rgb([240, 200, 170]),
    Rgb([200, 150, 110]),
    Rgb([140, 95, 65]),
    Rgb([90, 60, 40]),
];
pub(crate) const HAIR: &[Colour] = &[
    Rgb([40, 25, 15]),
    Rgb([90, 55, 30]),
    Rgb([20, 20, 20]),
    Rgb([150, 90, 50]),
];
pub(crate) const DOG: &[Colour] = &[
    Rgb([140, 90, 50]),
    Rgb([30, 30, 30]),
    Rgb([235, 235, 230]),
    Rgb([190, 140, 80]),
    Rgb([110, 70, 45]),
];
pub(crate) const CAT: &[Colour] = &[
    Rgb([128, 128, 128]),
    Rgb([30, 30, 30]),
    Rgb([220, 120, 40]),
    Rgb([240, 240, 240]),
];
pub(crate) const SCOOP: &[Colour] = &[
    Rgb([245, 160, 190]),
    Rgb([250, 245, 235]),
    Rgb([160, 230, 190]),
    Rgb([230, 90, 110]),
    Rgb([140, 190, 240]),
];
pub(crate) const CAKE: &[Colour] = &[
    Rgb([240, 170, 190]),
    Rgb([245, 238, 228]),
    Rgb([200, 170, 230]),
    Rgb([170, 40, 50]),
    Rgb([170, 225, 200]),
];
pub(crate) const FLOWER: &[Colour] = &[
    Rgb([220, 30, 50]),
    Rgb([240, 120, 180]),
    Rgb([150, 60, 190]),
    Rgb([250, 250, 250]),
    Rgb([80, 110, 230]),
];
pub(crate) const UMBRELLA: &[Colour] = &[
    Rgb([200, 30, 40]),
    Rgb([30, 60, 170]),
    Rgb([25, 25, 30]),
    Rgb([30, 140, 70]),
    Rgb([130, 50, 160]),
    Rgb([235, 100, 160]),
];
pub(crate) const BAG: &[Colour] = &[
    Rgb([120, 70, 35]),
    Rgb([25, 25, 25]),
    Rgb([170, 30, 40]),
    Rgb([30, 40, 110]),
    Rgb([200, 60, 120]),
];
pub(crate) const WALL: &[Colour] = &[
    Rgb([225, 215, 200]),
    Rgb([190, 205, 215]),
    Rgb([215, 190, 190]),
    Rgb([200, 215, 195]),
    Rgb([120, 110, 105]),
];
pub(crate) const TABLE: &[Colour] = &[
    Rgb([150, 100, 60]),
    Rgb([110, 70, 40]),
    Rgb([235, 235, 230]),
    Rgb([180, 140, 100]),
];
pub(crate) const BUILDING: &[Colour] = &[
    Rgb([110, 120, 135]),
    Rgb([140, 145, 150]),
    Rgb([90, 95, 110]),
    Rgb([160, 150, 140]),
    Rgb([70, 80, 100]),
];
pub(crate) const SKI: &[Colour] = &[
    Rgb([200, 30, 40]),
    Rgb([30, 60, 170]),
    Rgb([20, 20, 20]),
    Rgb([240, 240, 240]),
];
