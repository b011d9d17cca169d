//! Vehicles: cars, bikes and boats.

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn car(&mut self, x: f32, y: f32, s: f32, dir: f32) {
        self.drawn.insert(C::Car);
        let u = 110.0 * s;
        let body = self.colour_of(C::Car, pal::VEHICLE);
        let r = 0.11 * u;
        let (bot, top) = (y - r * 0.7, y - r * 0.7 - 0.25 * u);
        poly(
            &mut self.img,
            &[
                (x - 0.5 * u, bot),
                (x - 0.5 * u, top + 0.04 * u),
                (x - 0.46 * u, top),
                (x + 0.46 * u, top),
                (x + 0.5 * u, top + 0.04 * u),
                (x + 0.5 * u, bot),
            ],
            body,
        );
        let cx = x - dir * 0.05 * u;
        let roof = top - 0.2 * u;
        poly(
            &mut self.img,
            &[
                (cx - 0.3 * u, top),
                (cx - 0.2 * u, roof),
                (cx + 0.2 * u, roof),
                (cx + 0.3 * u, top),
            ],
            shade(body, 0.92),
        );
        let glass = pal::CAR_GLASS;
        poly(
            &mut self.img,
            &[
                (cx - 0.25 * u, top - 1.0),
                (cx - 0.17 * u, roof + 0.04 * u),
                (cx - 0.02 * u, roof + 0.04 * u),
                (cx - 0.02 * u, top - 1.0),
            ],
            glass,
        );
        poly(
            &mut self.img,
            &[
                (cx + 0.02 * u, top - 1.0),
                (cx + 0.02 * u, roof + 0.04 * u),
                (cx + 0.17 * u, roof + 0.04 * u),
                (cx + 0.25 * u, top - 1.0),
            ],
            glass,
        );
        for wx in [x - 0.3 * u, x + 0.3 * u] {
            circle(&mut self.img, wx, y - r, r, pal::CAR_TYRE);
            circle(&mut self.img, wx, y - r, r * 0.5, pal::CAR_HUBCAP);
        }
        let fx = x + dir * 0.47 * u;
        circle(
            &mut self.img,
            fx,
            top + 0.08 * u,
            0.03 * u,
            pal::CAR_HEADLIGHT,
        );
        self.lights
            .push(Light::Headlight(fx, top + 0.08 * u, 0.05 * u));
    }

    pub(super) fn bike(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Bike);
        let u = 80.0 * s;
        let frame = self.colour_of(C::Bike, pal::VEHICLE);
        let r = 0.22 * u;
        let (back, front) = ((x - 0.32 * u, y - r), (x + 0.32 * u, y - r));
        let tyre = pal::BIKE_TYRE;
        let t = (0.04 * u).max(2.0);
        ring(&mut self.img, back.0, back.1, r, t, tyre);
        ring(&mut self.img, front.0, front.1, r, t, tyre);
        let pedal = (x - 0.02 * u, y - r);
        let seat = (x - 0.1 * u, y - 0.62 * u);
        let bar = (x + 0.22 * u, y - 0.66 * u);
        let fw = (0.05 * u).max(2.0);
        for (a, b) in [
            (back, seat),
            (back, pedal),
            (pedal, seat),
            (pedal, bar),
            (seat, bar),
            (bar, front),
        ] {
            line(&mut self.img, a, b, fw, frame);
        }
        rect(
            &mut self.img,
            seat.0 - 0.08 * u,
            seat.1 - 0.04 * u,
            seat.0 + 0.06 * u,
            seat.1,
            pal::BIKE_SEAT,
        );
        line(
            &mut self.img,
            (bar.0 - 0.06 * u, bar.1 - 0.04 * u),
            (bar.0 + 0.08 * u, bar.1 - 0.06 * u),
            fw,
            pal::BIKE_HANDLEBAR,
        );
    }

    pub(super) fn boat(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Boat);
        let u = 120.0 * s;
        let hull = self.colour_of(C::Boat, pal::VEHICLE);
        let deck = y - 0.16 * u;
        poly(
            &mut self.img,
            &[
                (x - 0.5 * u, deck),
                (x + 0.55 * u, deck),
                (x + 0.38 * u, y),
                (x - 0.4 * u, y),
            ],
            hull,
        );
        rect(
            &mut self.img,
            x - 0.5 * u,
            deck,
            x + 0.55 * u,
            deck + 0.03 * u,
            shade(hull, 0.7),
        );
        if self.rng.gen_bool(0.6) {
            line(
                &mut self.img,
                (x, deck),
                (x, deck - 0.75 * u),
                (0.025 * u).max(2.0),
                pal::BOAT_MAST,
            );
            poly(
                &mut self.img,
                &[
                    (x + 2.0, deck - 0.72 * u),
                    (x + 2.0, deck - 0.06 * u),
                    (x + 0.42 * u, deck - 0.06 * u),
                ],
                pal::BOAT_SAIL,
            );
            poly(
                &mut self.img,
                &[
                    (x - 2.0, deck - 0.55 * u),
                    (x - 2.0, deck - 0.06 * u),
                    (x - 0.28 * u, deck - 0.06 * u),
                ],
                pal::BOAT_JIB,
            );
        } else {
            rect(
                &mut self.img,
                x - 0.25 * u,
                deck - 0.16 * u,
                x + 0.2 * u,
                deck,
                pal::BOAT_CABIN,
            );
            rect(
                &mut self.img,
                x - 0.2 * u,
                deck - 0.12 * u,
                x + 0.15 * u,
                deck - 0.07 * u,
                pal::BOAT_WINDOW,
            );
        }
    }
}
