// Open MPI's C API (libopenmpi-dev). Its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are
// macros over addresses of global objects, which Swift cannot import: the functions below
// hand them over.
#include <mpi.h>

static inline MPI_Comm cortex_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cortex_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cortex_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cortex_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op cortex_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler cortex_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Status *cortex_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *cortex_mpi_in_place(void) { return MPI_IN_PLACE; }
