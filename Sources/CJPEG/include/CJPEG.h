// JPEG decoding through libjpeg(-turbo), wrapped so that a damaged file returns an error
// message instead of calling exit() (libjpeg's default) or longjmp-ing through Swift frames.
#ifndef CORTEX_JPEG_H
#define CORTEX_JPEG_H

#include <stddef.h>

/// Decodes the JPEG in `data` to 8-bit grey (1 channel) or RGB (3 channels, any other colour
/// space converted by libjpeg). On success returns 0 and sets `*pixels` (row-major, to be
/// released with `cortex_jpeg_free`), `*width`, `*height`, `*channels`. On failure returns -1
/// and writes libjpeg's message into `message` (at most `message_size` bytes, terminated).
/// Images over `max_pixels` pixels are refused before any pixel memory is allocated.
int cortex_jpeg_decode(const unsigned char *data, size_t size, size_t max_pixels, unsigned char **pixels,
                       int *width, int *height, int *channels, char *message, size_t message_size);

/// Releases pixels from `cortex_jpeg_decode`.
void cortex_jpeg_free(unsigned char *pixels);

#endif
