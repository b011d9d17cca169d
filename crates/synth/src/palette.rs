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

// ----- Fixed colours of the renderer's parts (one name per part) -----------------------------

// The sky by time of day (top and bottom of the gradient), the sun, clouds and mountains.
pub(crate) const SKY_NIGHT_TOP: Colour = Rgb([40, 50, 110]);
pub(crate) const SKY_NIGHT_BOTTOM: Colour = Rgb([75, 80, 140]);
pub(crate) const SKY_SUNRISE_TOP: Colour = Rgb([130, 170, 225]);
pub(crate) const SKY_SUNRISE_BOTTOM: Colour = Rgb([255, 205, 150]);
pub(crate) const SKY_SUNSET_TOP: Colour = Rgb([90, 60, 130]);
pub(crate) const SKY_SUNSET_BOTTOM: Colour = Rgb([255, 140, 60]);
pub(crate) const SKY_RAIN_TOP: Colour = Rgb([105, 110, 120]);
pub(crate) const SKY_RAIN_BOTTOM: Colour = Rgb([160, 165, 170]);
pub(crate) const SKY_DAY_TOP: Colour = Rgb([60, 125, 205]);
pub(crate) const SKY_DAY_BOTTOM: Colour = Rgb([175, 210, 240]);
pub(crate) const SUN_RISING: Colour = Rgb([255, 225, 150]);
pub(crate) const SUN_SETTING: Colour = Rgb([235, 75, 30]);
pub(crate) const CLOUD: Colour = Rgb([245, 245, 250]);
pub(crate) const MOUNTAIN: Colour = Rgb([120, 125, 140]);
pub(crate) const SNOW_CAP: Colour = Rgb([245, 248, 252]);

// Streets, parks, beaches and snow (far and near edge of each ground gradient).
pub(crate) const WINDOW_DARK: Colour = Rgb([50, 60, 80]);
pub(crate) const PAVEMENT_FAR: Colour = Rgb([175, 170, 165]);
pub(crate) const PAVEMENT_NEAR: Colour = Rgb([160, 155, 150]);
pub(crate) const ROAD_FAR: Colour = Rgb([85, 85, 90]);
pub(crate) const ROAD_NEAR: Colour = Rgb([60, 60, 65]);
pub(crate) const ROAD_MARKING: Colour = Rgb([235, 235, 235]);
pub(crate) const GRASS_FAR: Colour = Rgb([95, 160, 70]);
pub(crate) const GRASS_NEAR: Colour = Rgb([60, 130, 45]);
pub(crate) const SEA_FAR: Colour = Rgb([40, 110, 175]);
pub(crate) const SEA_NEAR: Colour = Rgb([60, 150, 190]);
pub(crate) const WAVE: Colour = Rgb([200, 230, 245]);
pub(crate) const SAND_FAR: Colour = Rgb([235, 215, 165]);
pub(crate) const SAND_NEAR: Colour = Rgb([220, 195, 140]);
pub(crate) const SEA_FOAM: Colour = Rgb([245, 245, 240]);
pub(crate) const SNOW_FAR: Colour = Rgb([225, 232, 245]);
pub(crate) const SNOW_NEAR: Colour = Rgb([250, 252, 255]);
pub(crate) const SNOW_SHADOW: Colour = Rgb([205, 215, 235]);
pub(crate) const GRASS_BLADE: Colour = Rgb([50, 110, 40]);

// Park and table furniture.
pub(crate) const BUSH: Colour = Rgb([40, 95, 45]);
pub(crate) const BENCH_WOOD: Colour = Rgb([120, 80, 45]);
pub(crate) const BENCH_LEG: Colour = Rgb([40, 40, 40]);
pub(crate) const LAMP_POST: Colour = Rgb([50, 50, 55]);
pub(crate) const LAMP_GLOBE: Colour = Rgb([200, 200, 190]);
pub(crate) const DARK_WOOD: Colour = Rgb([90, 70, 50]);
pub(crate) const TABLECLOTH_RED: Colour = Rgb([200, 60, 60]);

// Vehicles.
pub(crate) const CAR_GLASS: Colour = Rgb([150, 190, 220]);
pub(crate) const CAR_TYRE: Colour = Rgb([20, 20, 20]);
pub(crate) const CAR_HUBCAP: Colour = Rgb([170, 170, 175]);
pub(crate) const CAR_HEADLIGHT: Colour = Rgb([230, 230, 220]);
pub(crate) const BIKE_TYRE: Colour = Rgb([25, 25, 25]);
pub(crate) const BIKE_SEAT: Colour = Rgb([20, 20, 20]);
pub(crate) const BIKE_HANDLEBAR: Colour = Rgb([30, 30, 30]);
pub(crate) const BOAT_MAST: Colour = Rgb([90, 70, 50]);
pub(crate) const BOAT_SAIL: Colour = Rgb([248, 248, 245]);
pub(crate) const BOAT_JIB: Colour = Rgb([230, 230, 225]);
pub(crate) const BOAT_CABIN: Colour = Rgb([240, 240, 240]);
pub(crate) const BOAT_WINDOW: Colour = Rgb([60, 90, 120]);

// Animals and plants.
pub(crate) const DOG_NOSE: Colour = Rgb([15, 15, 15]);
pub(crate) const DOG_EYE: Colour = Rgb([10, 10, 10]);
pub(crate) const CAT_EYE: Colour = Rgb([90, 200, 90]);
pub(crate) const TREE_TRUNK: Colour = Rgb([100, 65, 35]);
pub(crate) const FOLIAGE_DARK: Colour = Rgb([40, 120, 50]);
pub(crate) const FOLIAGE_LIGHT: Colour = Rgb([60, 140, 40]);
pub(crate) const FOLIAGE_BLUE: Colour = Rgb([30, 100, 60]);
pub(crate) const FLOWER_STEM: Colour = Rgb([50, 130, 50]);
pub(crate) const FLOWER_CENTRE: Colour = Rgb([120, 70, 30]);
pub(crate) const FLOWER_POT: Colour = Rgb([70, 110, 160]);

// People's things.
pub(crate) const UMBRELLA_STRIPE: Colour = Rgb([245, 245, 245]);
pub(crate) const UMBRELLA_SHAFT: Colour = Rgb([40, 40, 40]);
pub(crate) const UMBRELLA_STAND: Colour = Rgb([60, 60, 60]);
pub(crate) const BAG_TRIM: Colour = Rgb([200, 190, 170]);
pub(crate) const SKI_POLE: Colour = Rgb([40, 40, 40]);

// Food and drink.
pub(crate) const CONE: Colour = Rgb([215, 165, 100]);
pub(crate) const CONE_GRID: Colour = Rgb([170, 120, 70]);
pub(crate) const CAKE_PLATE: Colour = Rgb([235, 235, 240]);
pub(crate) const CREAM_CHOCOLATE: Colour = Rgb([70, 40, 22]);
pub(crate) const CREAM_VANILLA: Colour = Rgb([250, 245, 235]);
pub(crate) const CANDLE: Colour = Rgb([240, 240, 250]);
pub(crate) const CANDLE_FLAME: Colour = Rgb([255, 140, 30]);
pub(crate) const CHERRY: Colour = Rgb([200, 20, 40]);
pub(crate) const PIZZA_BOARD: Colour = Rgb([120, 80, 45]);
pub(crate) const PIZZA_CRUST: Colour = Rgb([215, 160, 90]);
pub(crate) const TOMATO_SAUCE: Colour = Rgb([205, 70, 40]);
pub(crate) const MOZZARELLA: Colour = Rgb([245, 230, 190]);
pub(crate) const PEPPERONI: Colour = Rgb([140, 25, 30]);
pub(crate) const PIZZA_CUT: Colour = Rgb([170, 110, 60]);
pub(crate) const BOTTLE_GREEN: Colour = Rgb([30, 60, 35]);
pub(crate) const BOTTLE_LABEL: Colour = Rgb([235, 225, 200]);
pub(crate) const WINE_GLASS: Colour = Rgb([215, 225, 235]);
pub(crate) const RED_WINE: Colour = Rgb([120, 15, 40]);
pub(crate) const CUP_WHITE: Colour = Rgb([245, 245, 245]);
pub(crate) const CUP_RED: Colour = Rgb([190, 40, 40]);
pub(crate) const CUP_BLUE: Colour = Rgb([40, 70, 150]);
pub(crate) const CUP_BLACK: Colour = Rgb([30, 30, 30]);
pub(crate) const SAUCER: Colour = Rgb([240, 240, 240]);
pub(crate) const COFFEE: Colour = Rgb([110, 65, 35]);
pub(crate) const COFFEE_FOAM: Colour = Rgb([235, 215, 190]);
pub(crate) const PLATE: Colour = Rgb([245, 245, 245]);
pub(crate) const SALAD_GREEN: Colour = Rgb([60, 150, 50]);
pub(crate) const SALAD_LIGHT: Colour = Rgb([90, 180, 60]);
pub(crate) const SALAD_TOMATO: Colour = Rgb([210, 40, 40]);
pub(crate) const SALAD_CARROT: Colour = Rgb([240, 130, 40]);
pub(crate) const BUN: Colour = Rgb([205, 140, 65]);
pub(crate) const PATTY: Colour = Rgb([90, 50, 30]);
pub(crate) const LETTUCE: Colour = Rgb([80, 170, 60]);

// Weather and night.
pub(crate) const SNOWFLAKE: Colour = Rgb([250, 250, 255]);
pub(crate) const STAR: Colour = Rgb([230, 230, 240]);
pub(crate) const MOON: Colour = Rgb([240, 240, 220]);
pub(crate) const WARM_LIGHT: Colour = Rgb([255, 215, 130]);
pub(crate) const HEADLIGHT: Colour = Rgb([255, 250, 235]);
pub(crate) const WHITE: Colour = Rgb([255, 255, 255]);
pub(crate) const RAIN_NIGHT: Colour = Rgb([110, 120, 140]);
pub(crate) const RAIN_DAY: Colour = Rgb([200, 205, 220]);
