// Open MPI's own MPI_Allreduce of N floats (sum, in place) in a C loop: the reference that
// `cortex bench allreduce` is compared with (docs/mpi.md).
// Build and run: mpicc -O2 -o /tmp/allreduce scripts/reference/allreduce.c
//                mpirun -np 2 /tmp/allreduce 139000 50
// Prints the median milliseconds per call over the rounds (rank 0).
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long count = argc > 1 ? atol(argv[1]) : 139000;
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    float *buffer = malloc(sizeof(float) * count);
    double *times = malloc(sizeof(double) * rounds);
    for (long i = 0; i < count; i++) buffer[i] = 1.0f;
    for (int r = 0; r < rounds; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        times[r] = (MPI_Wtime() - start) * 1e3;
    }
    qsort(times, rounds, sizeof(double), compare);
    if (rank == 0) printf("C MPI_Allreduce: %ld floats, %d ranks: %.3f ms (median of %d)\n", count, size, times[rounds / 2], rounds);
    free(buffer);
    free(times);
    MPI_Finalize();
    return 0;
}
