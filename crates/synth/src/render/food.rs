//! Food and drink on the table: ice cream, cake, pizza, wine, coffee, a plate of food.

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn icecream(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Icecream);
        self.drawn.insert(C::Food);
        let u = 55.0 * s;
        let choc = self.spec.has(C::Chocolate);
        let cone_top = y - 0.55 * u;
        poly(
            &mut self.img,
            &[(x - 0.17 * u, cone_top), (x + 0.17 * u, cone_top), (x, y)],
            pal::CONE,
        );
        for i in 1..4 {
            let f = i as f32 / 4.0;
            let a = (x - 0.17 * u * (1.0 - f), cone_top + 0.55 * u * f);
            line(
                &mut self.img,
                a,
                (x + 0.17 * u * f, cone_top),
                1.0,
                pal::CONE_GRID,
            );
        }
        let scoops = self.rng.gen_range(1..3);
        for k in 0..scoops {
            let c = if choc {
                self.drawn.insert(C::Chocolate);
                shade(pal::CHOCOLATE, self.r(0.9, 1.1))
            } else {
                self.pick(pal::SCOOP)
            };
            let cy = cone_top - 0.08 * u - k as f32 * 0.22 * u;
            circle(&mut self.img, x, cy, 0.19 * u, c);
            ellipse(&mut self.img, x, cone_top - 0.02 * u, 0.2 * u, 0.05 * u, c);
        }
        if self.spec.setting != Setting::Table {
            let skin = self.pick(pal::SKIN);
            ellipse(&mut self.img, x, y - 0.12 * u, 0.15 * u, 0.12 * u, skin);
            rect(
                &mut self.img,
                x - 0.12 * u,
                y - 0.05 * u,
                x + 0.12 * u,
                y + 0.3 * u,
                skin,
            );
        }
    }

    pub(super) fn cake(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Cake);
        self.drawn.insert(C::Food);
        let u = 90.0 * s;
        let choc = self.spec.has(C::Chocolate);
        let c = if choc {
            self.drawn.insert(C::Chocolate);
            shade(pal::CHOCOLATE, self.r(0.9, 1.1))
        } else {
            self.pick(pal::CAKE)
        };
        ellipse(
            &mut self.img,
            x,
            y - 0.06 * u,
            0.55 * u,
            0.1 * u,
            pal::CAKE_PLATE,
        );
        let (top, bot) = (y - 0.5 * u, y - 0.1 * u);
        ellipse(&mut self.img, x, bot, 0.42 * u, 0.09 * u, shade(c, 0.85));
        rect(
            &mut self.img,
            x - 0.42 * u,
            top,
            x + 0.42 * u,
            bot,
            shade(c, 0.9),
        );
        let cream = if choc {
            pal::CREAM_CHOCOLATE
        } else {
            pal::CREAM_VANILLA
        };
        rect(
            &mut self.img,
            x - 0.42 * u,
            top + 0.17 * u,
            x + 0.42 * u,
            top + 0.23 * u,
            cream,
        );
        ellipse(&mut self.img, x, top, 0.42 * u, 0.09 * u, shade(c, 1.1));
        for i in 0..self.rng.gen_range(0..4) {
            let cx = x + (i as f32 - 1.0) * 0.18 * u;
            rect(
                &mut self.img,
                cx - 0.015 * u,
                top - 0.2 * u,
                cx + 0.015 * u,
                top,
                pal::CANDLE,
            );
            circle(
                &mut self.img,
                cx,
                top - 0.23 * u,
                0.03 * u,
                pal::CANDLE_FLAME,
            );
        }
        for i in 0..3 {
            circle(
                &mut self.img,
                x + (i as f32 - 1.0) * 0.25 * u,
                top + 0.02 * u,
                0.05 * u,
                pal::CHERRY,
            );
        }
    }

    pub(super) fn pizza(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Pizza);
        self.drawn.insert(C::Food);
        let u = 130.0 * s;
        let cy = y - 0.2 * u;
        ellipse(
            &mut self.img,
            x,
            cy + 0.02 * u,
            0.52 * u,
            0.21 * u,
            pal::PIZZA_BOARD,
        );
        ellipse(&mut self.img, x, cy, 0.48 * u, 0.19 * u, pal::PIZZA_CRUST);
        ellipse(&mut self.img, x, cy, 0.42 * u, 0.16 * u, pal::TOMATO_SAUCE);
        for _ in 0..7 {
            let (dx, dy) = (self.r(-0.32, 0.32) * u, self.r(-0.11, 0.11) * u);
            ellipse(
                &mut self.img,
                x + dx,
                cy + dy,
                0.06 * u,
                0.03 * u,
                pal::MOZZARELLA,
            );
        }
        for _ in 0..6 {
            let (dx, dy) = (self.r(-0.3, 0.3) * u, self.r(-0.1, 0.1) * u);
            ellipse(
                &mut self.img,
                x + dx,
                cy + dy,
                0.045 * u,
                0.022 * u,
                pal::PEPPERONI,
            );
        }
        for k in 0..4 {
            let a = k as f32 / 4.0 * std::f32::consts::PI;
            let (dx, dy) = (a.cos() * 0.46 * u, a.sin() * 0.18 * u);
            line(
                &mut self.img,
                (x - dx, cy - dy),
                (x + dx, cy + dy),
                1.0,
                pal::PIZZA_CUT,
            );
        }
    }

    pub(super) fn wine(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Wine);
        let u = 90.0 * s;
        if self.rng.gen_bool(0.5) {
            let bx = x + 0.3 * u;
            let green = pal::BOTTLE_GREEN;
            rect(
                &mut self.img,
                bx - 0.09 * u,
                y - 0.75 * u,
                bx + 0.09 * u,
                y,
                green,
            );
            rect(
                &mut self.img,
                bx - 0.03 * u,
                y - 1.0 * u,
                bx + 0.03 * u,
                y - 0.75 * u,
                green,
            );
            ellipse(&mut self.img, bx, y - 0.75 * u, 0.09 * u, 0.05 * u, green);
            rect(
                &mut self.img,
                bx - 0.09 * u,
                y - 0.5 * u,
                bx + 0.09 * u,
                y - 0.3 * u,
                pal::BOTTLE_LABEL,
            );
        }
        let glass = pal::WINE_GLASS;
        let wine = pal::RED_WINE;
        let (rim, bowl) = (y - u, y - 0.55 * u);
        poly(
            &mut self.img,
            &[
                (x - 0.15 * u, rim),
                (x + 0.15 * u, rim),
                (x + 0.13 * u, bowl - 0.1 * u),
                (x, bowl),
                (x - 0.13 * u, bowl - 0.1 * u),
            ],
            glass,
        );
        poly(
            &mut self.img,
            &[
                (x - 0.145 * u, rim + 0.2 * u),
                (x + 0.145 * u, rim + 0.2 * u),
                (x + 0.12 * u, bowl - 0.1 * u),
                (x, bowl - 0.02 * u),
                (x - 0.12 * u, bowl - 0.1 * u),
            ],
            wine,
        );
        line(
            &mut self.img,
            (x, bowl),
            (x, y - 0.03 * u),
            (0.025 * u).max(2.0),
            glass,
        );
        ellipse(&mut self.img, x, y - 0.02 * u, 0.12 * u, 0.03 * u, glass);
    }

    pub(super) fn coffee(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Coffee);
        let u = 70.0 * s;
        let cup = self.pick(&[pal::CUP_WHITE, pal::CUP_RED, pal::CUP_BLUE, pal::CUP_BLACK]);
        ellipse(
            &mut self.img,
            x,
            y - 0.04 * u,
            0.45 * u,
            0.09 * u,
            pal::SAUCER,
        );
        ring(
            &mut self.img,
            x + 0.3 * u,
            y - 0.32 * u,
            0.1 * u,
            (0.04 * u).max(2.0),
            cup,
        );
        poly(
            &mut self.img,
            &[
                (x - 0.3 * u, y - 0.5 * u),
                (x + 0.3 * u, y - 0.5 * u),
                (x + 0.22 * u, y - 0.1 * u),
                (x - 0.22 * u, y - 0.1 * u),
            ],
            cup,
        );
        ellipse(
            &mut self.img,
            x,
            y - 0.5 * u,
            0.3 * u,
            0.07 * u,
            shade(cup, 0.9),
        );
        ellipse(
            &mut self.img,
            x,
            y - 0.5 * u,
            0.26 * u,
            0.055 * u,
            pal::COFFEE,
        );
        ellipse(
            &mut self.img,
            x,
            y - 0.5 * u,
            0.1 * u,
            0.025 * u,
            pal::COFFEE_FOAM,
        );
    }

    /// A generic plate of food (salad or burger): "food" without a named dish.
    pub(super) fn plate(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Food);
        let u = 110.0 * s;
        let cy = y - 0.15 * u;
        ellipse(&mut self.img, x, cy, 0.45 * u, 0.16 * u, pal::PLATE);
        if self.rng.gen_bool(0.5) {
            for _ in 0..14 {
                let (dx, dy) = (self.r(-0.3, 0.3) * u, self.r(-0.09, 0.07) * u);
                let c = *[
                    pal::SALAD_GREEN,
                    pal::SALAD_LIGHT,
                    pal::SALAD_TOMATO,
                    pal::SALAD_CARROT,
                ]
                .choose(self.rng)
                .unwrap_or(&pal::SALAD_GREEN);
                ellipse(&mut self.img, x + dx, cy + dy, 0.06 * u, 0.035 * u, c);
            }
        } else {
            let bun = pal::BUN;
            ellipse(&mut self.img, x, cy - 0.02 * u, 0.22 * u, 0.05 * u, bun);
            rect(
                &mut self.img,
                x - 0.22 * u,
                cy - 0.1 * u,
                x + 0.22 * u,
                cy - 0.04 * u,
                pal::PATTY,
            );
            rect(
                &mut self.img,
                x - 0.24 * u,
                cy - 0.12 * u,
                x + 0.24 * u,
                cy - 0.1 * u,
                pal::LETTUCE,
            );
            poly(
                &mut self.img,
                &arc(
                    x,
                    cy - 0.12 * u,
                    0.22 * u,
                    0.16 * u,
                    std::f32::consts::PI,
                    std::f32::consts::TAU,
                    10,
                ),
                bun,
            );
        }
    }
}
