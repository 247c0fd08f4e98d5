/* The colour maps of PNG previews (colormap.c) and the colour bar drawn under them
 * (colorbar.c). */
#ifndef ITI_EXPORT_COLORMAP_H
#define ITI_EXPORT_COLORMAP_H

#include <stddef.h>

#include "infinite_tensor/export.h"

/* The colour of v in [0, 1] (clamped) in map m, as 8-bit RGB. */
void iti_colormap_rgb(it_colormap m, double v, unsigned char *rgb);

/* Rows a colour bar takes under an image `width` pixels wide and `height` high: a gap, the
 * ramp, tick marks and tick labels. */
int iti_colorbar_rows(int width, int height);

/* Draws the colour bar into `rows` rows (iti_colorbar_rows) of `width` pixels of `channels`
 * (1: gray, 3: RGB) at px: the map from lo (left) to hi (right), ticks at lo, hi and round
 * values between, each labelled (%.4g) where the labels do not collide. The ticks' values go
 * to ticks (at most max_ticks), their count is returned. */
int iti_colorbar_draw(unsigned char *px, int width, int rows, int channels, it_colormap m,
                      double lo, double hi, double *ticks, int max_ticks);

#endif
