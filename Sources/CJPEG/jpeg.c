#include "CJPEG.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct cortex_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
};

/// libjpeg calls this on a fatal error; control returns to the setjmp in the decoder, whose
/// frames are all C.
static void cortex_jpeg_error_exit(j_common_ptr info) {
    struct cortex_jpeg_error *error = (struct cortex_jpeg_error *)info->err;
    longjmp(error->jump, 1);
}

/// Warnings (a corrupt but readable stream) are not printed; the data decodes as it can.
static void cortex_jpeg_silence(j_common_ptr info) { (void)info; }

int cortex_jpeg_decode(const unsigned char *data, size_t size, size_t max_pixels, unsigned char **pixels,
                       int *width, int *height, int *channels, char *message, size_t message_size) {
    struct jpeg_decompress_struct info;
    struct cortex_jpeg_error error;
    unsigned char *volatile buffer = NULL;
    *pixels = NULL;
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = cortex_jpeg_error_exit;
    error.manager.output_message = cortex_jpeg_silence;
    if (setjmp(error.jump)) {
        if (message && message_size > 0) {
            char text[JMSG_LENGTH_MAX];
            (*error.manager.format_message)((j_common_ptr)&info, text);
            snprintf(message, message_size, "%s", text);
        }
        jpeg_destroy_decompress(&info);
        free(buffer);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_calc_output_dimensions(&info);
    size_t w = info.output_width, h = info.output_height, c = (size_t)info.output_components;
    if (w == 0 || h == 0 || w > max_pixels / h) {
        if (message && message_size > 0) snprintf(message, message_size, "implausible size %zux%zu", w, h);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    buffer = malloc(w * h * c);
    if (!buffer) {
        if (message && message_size > 0) snprintf(message, message_size, "out of memory for %zux%zu pixels", w, h);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_start_decompress(&info);
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = buffer + (size_t)info.output_scanline * w * c;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    *pixels = buffer;
    *width = (int)w;
    *height = (int)h;
    *channels = (int)c;
    return 0;
}

void cortex_jpeg_free(unsigned char *pixels) { free(pixels); }
