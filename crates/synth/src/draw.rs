//! Drawing primitives in float coordinates on top of imageproc, safe for any size and position.

use image::{Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_ellipse_mut, draw_filled_rect_mut, draw_line_segment_mut,
    draw_polygon_mut,
};
use imageproc::point::Point;
use imageproc::rect::Rect;

pub(crate) type Colour = Rgb<u8>;

/// `c` scaled by `f` (clamped to 0..=255).
pub(crate) fn shade(c: Colour, f: f32) -> Colour {
    Rgb(c.0.map(|v| (f32::from(v) * f).clamp(0.0, 255.0) as u8))
}

/// Linear mix of `a` and `b` (`t` = 0 gives `a`).
pub(crate) fn mix(a: Colour, b: Colour, t: f32) -> Colour {
    let mut out = [0u8; 3];
    for (o, (x, y)) in out.iter_mut().zip(a.0.iter().zip(b.0.iter())) {
        *o = (f32::from(*x) * (1.0 - t) + f32::from(*y) * t).clamp(0.0, 255.0) as u8;
    }
    Rgb(out)
}

/// Filled polygon; degenerate polygons (fewer than 3 distinct points) are skipped.
pub(crate) fn poly(img: &mut RgbImage, pts: &[(f32, f32)], c: Colour) {
    let mut p: Vec<Point<i32>> = Vec::with_capacity(pts.len());
    for &(x, y) in pts {
        let q = Point::new(x.round() as i32, y.round() as i32);
        if p.last() != Some(&q) {
            p.push(q);
        }
    }
    while p.len() > 1 && p.first() == p.last() {
        p.pop();
    }
    if p.len() >= 3 {
        draw_polygon_mut(img, &p, c);
    }
}

/// Filled axis-aligned rectangle from `(x0, y0)` to `(x1, y1)`.
pub(crate) fn rect(img: &mut RgbImage, x0: f32, y0: f32, x1: f32, y1: f32, c: Colour) {
    let (l, r) = (x0.min(x1).round() as i32, x0.max(x1).round() as i32);
    let (t, b) = (y0.min(y1).round() as i32, y0.max(y1).round() as i32);
    let (w, h) = ((r - l).max(1) as u32, (b - t).max(1) as u32);
    draw_filled_rect_mut(img, Rect::at(l, t).of_size(w, h), c);
}

/// Filled circle.
pub(crate) fn circle(img: &mut RgbImage, x: f32, y: f32, r: f32, c: Colour) {
    draw_filled_circle_mut(
        img,
        (x.round() as i32, y.round() as i32),
        r.round().max(1.0) as i32,
        c,
    );
}

/// Filled ellipse with half-axes `rx`, `ry`.
pub(crate) fn ellipse(img: &mut RgbImage, x: f32, y: f32, rx: f32, ry: f32, c: Colour) {
    let (rx, ry) = (rx.round().max(1.0) as i32, ry.round().max(1.0) as i32);
    draw_filled_ellipse_mut(img, (x.round() as i32, y.round() as i32), rx, ry, c);
}

/// A line `w` pixels wide.
pub(crate) fn line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), w: f32, c: Colour) {
    if w <= 1.5 {
        draw_line_segment_mut(img, a, b, c);
        return;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-3);
    let (nx, ny) = (-dy / len * w / 2.0, dx / len * w / 2.0);
    poly(
        img,
        &[
            (a.0 + nx, a.1 + ny),
            (b.0 + nx, b.1 + ny),
            (b.0 - nx, b.1 - ny),
            (a.0 - nx, a.1 - ny),
        ],
        c,
    );
}

/// A ring (hollow circle) of width `w`.
pub(crate) fn ring(img: &mut RgbImage, x: f32, y: f32, r: f32, w: f32, c: Colour) {
    let n = 24;
    for i in 0..n {
        let a0 = i as f32 / n as f32 * std::f32::consts::TAU;
        let a1 = (i + 1) as f32 / n as f32 * std::f32::consts::TAU;
        line(
            img,
            (x + r * a0.cos(), y + r * a0.sin()),
            (x + r * a1.cos(), y + r * a1.sin()),
            w,
            c,
        );
    }
}

/// Points of an arc of radius `(rx, ry)` around `(x, y)` from angle `a0` to `a1` (radians).
pub(crate) fn arc(x: f32, y: f32, rx: f32, ry: f32, a0: f32, a1: f32, n: usize) -> Vec<(f32, f32)> {
    (0..=n)
        .map(|i| {
            let a = a0 + (a1 - a0) * i as f32 / n as f32;
            (x + rx * a.cos(), y + ry * a.sin())
        })
        .collect()
}

/// Fills rows `y0..y1` with a vertical gradient from `top` to `bottom`.
pub(crate) fn vgradient(img: &mut RgbImage, y0: u32, y1: u32, top: Colour, bottom: Colour) {
    let w = img.width();
    let y1 = y1.min(img.height());
    let span = (y1.saturating_sub(y0)).max(1) as f32;
    for y in y0..y1 {
        let c = mix(top, bottom, (y - y0) as f32 / span);
        for x in 0..w {
            img.put_pixel(x, y, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_survive_degenerate_and_offscreen_input() {
        let mut img = RgbImage::new(20, 20);
        let c = Rgb([200, 10, 10]);
        poly(&mut img, &[(1.0, 1.0), (1.2, 1.1), (0.9, 0.8)], c);
        poly(&mut img, &[], c);
        rect(&mut img, -50.0, -50.0, -40.0, -40.0, c);
        circle(&mut img, 100.0, 100.0, 0.0, c);
        ellipse(&mut img, -5.0, 5.0, 0.2, 30.0, c);
        line(&mut img, (3.0, 3.0), (3.0, 3.0), 4.0, c);
        ring(&mut img, 10.0, 10.0, 40.0, 3.0, c);
        rect(&mut img, 2.0, 2.0, 6.0, 6.0, c);
        assert_eq!(*img.get_pixel(4, 4), c);
    }

    #[test]
    fn colour_helpers() {
        assert_eq!(shade(Rgb([100, 200, 50]), 2.0), Rgb([200, 255, 100]));
        assert_eq!(
            mix(Rgb([0, 0, 0]), Rgb([200, 100, 50]), 0.5),
            Rgb([100, 50, 25])
        );
    }
}
