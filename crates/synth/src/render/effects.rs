//! What covers the whole picture: snowflakes, lighting by time of day, night lights, rain and
//! pixel noise.

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn snowflakes(&mut self) {
        for _ in 0..60 {
            let (x, y) = (self.r(0.0, self.w), self.r(0.0, self.w));
            circle(&mut self.img, x, y, 1.0, pal::SNOWFLAKE);
        }
    }

    /// Per-channel gain for the time of day and weather, with a random exposure.
    pub(super) fn gains(&mut self) -> [f32; 3] {
        let s = self.spec;
        let base = if s.setting == Setting::Table {
            [1.0, 0.97, 0.9]
        } else if s.has(C::Night) {
            [0.33, 0.36, 0.5]
        } else if s.has(C::Sunrise) {
            [1.05, 0.95, 0.85]
        } else if s.has(C::Sunset) {
            [1.0, 0.85, 0.7]
        } else if s.has(C::Rain) {
            [0.8, 0.82, 0.88]
        } else {
            [1.0, 1.0, 1.0]
        };
        let exposure = self.r(0.9, 1.1);
        base.map(|g| g * exposure * self.r(0.97, 1.03))
    }

    pub(super) fn lighting(&mut self) {
        let g = self.gains();
        for px in self.img.pixels_mut() {
            for (v, gain) in px.0.iter_mut().zip(g) {
                *v = (f32::from(*v) * gain).min(255.0) as u8;
            }
        }
    }

    pub(super) fn night_lights(&mut self) {
        if !self.spec.has(C::Night) {
            return;
        }
        for _ in 0..40 {
            let (x, y) = (self.r(0.0, self.w), self.r(0.0, self.horizon * 0.7));
            let px = pal::STAR;
            circle(&mut self.img, x, y, 0.5, px);
        }
        let (mx, my) = (self.r(0.1, 0.9) * self.w, self.r(0.08, 0.2) * self.w);
        circle(&mut self.img, mx, my, self.w * 0.04, pal::MOON);
        let warm = pal::WARM_LIGHT;
        for l in std::mem::take(&mut self.lights) {
            match l {
                Light::Window(x0, y0, x1, y1) => rect(
                    &mut self.img,
                    x0,
                    y0,
                    x1,
                    y1,
                    shade(warm, self.rng.gen_range(0.7..1.0)),
                ),
                Light::Headlight(x, y, r) => circle(&mut self.img, x, y, r, pal::HEADLIGHT),
                Light::Lamp(x, y, r) => circle(&mut self.img, x, y, r, mix(warm, pal::WHITE, 0.5)),
            }
        }
    }

    pub(super) fn rain(&mut self) {
        if !self.spec.has(C::Rain) {
            return;
        }
        self.drawn.insert(C::Rain);
        let c = if self.spec.has(C::Night) {
            pal::RAIN_NIGHT
        } else {
            pal::RAIN_DAY
        };
        let len = self.w * 0.06;
        for _ in 0..140 {
            let (x, y) = (self.r(-0.1, 1.0) * self.w, self.r(-0.1, 1.0) * self.w);
            line(&mut self.img, (x, y), (x + len * 0.3, y + len), 1.0, c);
        }
    }

    /// Adds uniform noise in `-amp..=amp` to every channel (xorshift, seeded from the scene RNG).
    pub(super) fn noise(&mut self, amp: u8) {
        if amp == 0 {
            return;
        }
        let mut state: u64 = self.rng.gen::<u64>() | 1;
        let span = 2 * u64::from(amp) + 1;
        for v in self.img.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (state % span) as i32 - i32::from(amp);
            *v = (i32::from(*v) + n).clamp(0, 255) as u8;
        }
    }
}
