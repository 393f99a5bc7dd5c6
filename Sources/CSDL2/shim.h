// Through the SDL2/ prefix so no include path is needed: SDL's headers include each other
// with quotes, relative to this folder. Debian/Ubuntu's libsdl2-dev puts them in
// /usr/include/SDL2; pkg-config is not asked because its cflags carry -D_REENTRANT, which
// SwiftPM refuses with a warning on every build.
#include <SDL2/SDL.h>
