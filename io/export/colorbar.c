/* The colour bar under a preview, readable without the image's metadata: the ramp, then tick
 * marks at the range's ends and at round values between (1, 2 or 5 times a power of ten,
 * 3 to 6 of them), each labelled in a 5x7 pixel font (scaled 2x under images 600 pixels wide
 * or more) where its label does not run into its neighbours'. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "export/colormap.h"

#define GLYPH_W 5
#define GLYPH_H 7

/* Rows of 5 bits, the leftmost pixel the highest bit, for the characters %.4g prints. */
static const struct {
    char c;
    unsigned char rows[GLYPH_H];
} font[] = {
    {'0', {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}}, {'1', {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'2', {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}}, {'3', {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}},
    {'4', {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}}, {'5', {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}},
    {'6', {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}}, {'7', {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}}, {'9', {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}}, {'-', {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}},
    {'+', {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}}, {'e', {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e}},
    {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}}, {'a', {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f}},
    {'i', {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e}}, {'f', {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}},
};

static int scale_for(int width) {
    return width >= 600 ? 2 : 1;
}

int iti_colorbar_rows(int width, int height) {
    int ramp = height / 16 > 8 ? height / 16 : 8;
    int s = scale_for(width);
    return 2 + ramp + 3 * s + (GLYPH_H + 3) * s; /* gap, ramp, ticks, labels */
}

static void put(unsigned char *px, int width, int channels, int x, int y, unsigned char v) {
    memset(px + ((size_t)y * (size_t)width + (size_t)x) * (size_t)channels, v, (size_t)channels);
}

/* Draws text with its top-left corner at (x, y), black, clipped to the width. */
static void draw_text(unsigned char *px, int width, int channels, int x, int y, int s,
                      const char *text) {
    for (; *text; text++, x += (GLYPH_W + 1) * s) {
        size_t g = 0;
        while (g < sizeof font / sizeof *font && font[g].c != *text)
            g++;
        if (g == sizeof font / sizeof *font)
            continue;
        for (int r = 0; r < GLYPH_H * s; r++)
            for (int c = 0; c < GLYPH_W * s; c++)
                if (font[g].rows[r / s] >> (GLYPH_W - 1 - c / s) & 1 && x + c >= 0 && x + c < width)
                    put(px, width, channels, x + c, y + r, 0);
    }
}

static int text_width(const char *text, int s) {
    int n = (int)strlen(text);
    return n ? (n * (GLYPH_W + 1) - 1) * s : 0;
}

/* Round values strictly between lo and hi: multiples of 1, 2 or 5 times a power of ten, the
 * step giving 2 to 5 of them. */
static int round_ticks(double lo, double hi, double *v, int max) {
    double span = hi - lo;
    if (!(span > 0) || !isfinite(span) || !isfinite(lo))
        return 0;
    double raw = span / 5, p = pow(10, floor(log10(raw))), step = p;
    static const double mult[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (raw <= mult[i] * p) {
            step = mult[i] * p;
            break;
        }
    if (!(fabs(lo) / step < 1e15 && fabs(hi) / step < 1e15))
        return 0; /* the multiples would not be told apart in doubles (and k++ would stall) */
    int n = 0;
    for (double k = floor(lo / step) + 1; n < max && k * step < hi; k++) {
        double t = k * step;
        if (t - lo > span * 1e-9 && hi - t > span * 1e-9)
            v[n++] = fabs(t) < step * 1e-9 ? 0 : t;
    }
    return n;
}

int iti_colorbar_draw(unsigned char *px, int width, int rows, int channels, it_colormap m,
                      double lo, double hi, double *ticks, int max_ticks) {
    int s = scale_for(width), label_rows = (GLYPH_H + 3) * s, tick_rows = 3 * s;
    int ramp_end = rows - label_rows - tick_rows;
    memset(px, 255, (size_t)width * (size_t)rows * (size_t)channels);
    /* the ramp: one row (gray images are single-channel: the map is gray), then copies */
    size_t row = (size_t)width * (size_t)channels;
    unsigned char *ramp = px + 2 * row;
    for (int x = 0; x < width; x++) {
        unsigned char rgb[3];
        iti_colormap_rgb(m, width > 1 ? (double)x / (width - 1) : 0, rgb);
        memcpy(ramp + (size_t)x * (size_t)channels, rgb, (size_t)channels);
    }
    for (int y = 3; y < ramp_end; y++)
        memcpy(px + (size_t)y * row, ramp, row);
    double between[8];
    int nb = round_ticks(lo, hi, between, 8), n = 0;
    double all[10];
    all[n++] = lo;
    for (int i = 0; i < nb; i++)
        all[n++] = between[i];
    all[n++] = hi;
    /* the ends first, so labels between give way to them */
    int order[10] = {0, n - 1}, placed_l[10], placed_r[10], nplaced = 0, nt = 0;
    for (int i = 1; i < n - 1; i++)
        order[i + 1] = i;
    for (int k = 0; k < n; k++) {
        int i = order[k];
        int x = width > 1 ? (int)lround((all[i] - lo) / (hi - lo) * (width - 1)) : 0;
        char label[32];
        snprintf(label, sizeof label, "%.4g", all[i]);
        int w = text_width(label, s);
        int left = i == 0 ? 0 : i == n - 1 ? width - w : x - w / 2;
        left = left < 0 ? 0 : left + w > width ? width - w : left;
        bool fits = left >= 0 && w <= width;
        for (int j = 0; fits && j < nplaced; j++)
            fits = left + w + 3 * s <= placed_l[j] || placed_r[j] + 3 * s <= left;
        if (!fits)
            continue;
        placed_l[nplaced] = left, placed_r[nplaced++] = left + w;
        for (int y = ramp_end; y < ramp_end + tick_rows; y++)
            for (int dx = 0; dx < s; dx++)
                if (x + dx < width)
                    put(px, width, channels, x + dx, y, 0);
        draw_text(px, width, channels, left, ramp_end + tick_rows + s, s, label);
        if (nt < max_ticks)
            ticks[nt++] = all[i];
    }
    for (int i = 1; i < nt; i++) /* ascending */
        for (int j = i; j > 0 && ticks[j] < ticks[j - 1]; j--) {
            double t = ticks[j];
            ticks[j] = ticks[j - 1], ticks[j - 1] = t;
        }
    return nt;
}
