// Our driver around native LibMF (mf.cpp / mf.h from the `libmf` source distribution on PyPI),
// built and run by benchmarks/native_libmf.py.
//
//   libmf_driver TRAIN TEST [-k K] [-t ITERS] [-s THREADS] [-n BINS] [-l2 LAMBDA] [-r ETA]
//                           [--clip LOW HIGH] [--trace | --trace-only]
//
// TRAIN and TEST are binary files written by native_libmf.write_problem: three little-endian int64
// (m, n, nnz) followed by nnz records {int32 u, int32 v, float32 r} (LibMF's own mf_node layout).
// Loading is not timed. The timed part is one call of mf_train (LibMF's whole training: its scaling,
// random row/column maps, grid of blocks, every iteration, and mapping the model back), wall clock
// (steady_clock) and process CPU time (getrusage). Then the test RMSE is computed here, with every
// prediction p_u . q_i clipped to [LOW, HIGH] the way mfcore clips its own (rows LibMF never trained
// predict its global average). --trace trains once more through mf_train_with_validation with LibMF's
// per-iteration printout on (its tr/va RMSE, unclipped), for the seconds-to-target measure; that run
// is not timed; --trace-only stops after it. The last line printed is one JSON object.

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "mf.h"

using namespace mf;

static mf_problem read_binary(const char *path, std::vector<mf_node> &storage)
{
    FILE *f = std::fopen(path, "rb");
    if (!f) { std::perror(path); std::exit(2); }
    int64_t header[3];
    if (std::fread(header, sizeof(int64_t), 3, f) != 3) { std::fprintf(stderr, "%s: short header\n", path); std::exit(2); }
    storage.resize((size_t)header[2]);
    if (std::fread(storage.data(), sizeof(mf_node), storage.size(), f) != storage.size()) {
        std::fprintf(stderr, "%s: short data\n", path);
        std::exit(2);
    }
    std::fclose(f);
    mf_problem problem;
    problem.m = (mf_int)header[0];
    problem.n = (mf_int)header[1];
    problem.nnz = (mf_long)header[2];
    problem.R = storage.data();
    return problem;
}

static double cpu_seconds()
{
    rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

static double peak_mb()
{
    rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;  // kilobytes on Linux
}

// sqrt(mean((r - clip(p_u . q_i))^2)); clip is skipped when low > high.
static double test_rmse(const mf_problem &test, const mf_model *model, float low, float high)
{
    double sum = 0;
    for (mf_long n = 0; n < test.nnz; n++) {
        const mf_node &node = test.R[n];
        float z = mf_predict(model, node.u, node.v);
        if (low <= high) z = z < low ? low : (z > high ? high : z);
        double e = node.r - z;
        sum += e * e;
    }
    return test.nnz ? std::sqrt(sum / test.nnz) : 0.0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s TRAIN TEST [-k K] [-t ITERS] [-s THREADS] [-n BINS] [-l2 LAMBDA] "
                             "[-r ETA] [--clip LOW HIGH] [--trace | --trace-only]\n", argv[0]);
        return 2;
    }
    mf_parameter param = mf_get_default_param();  // L2-loss MF, AdaGrad with eta 0.1, 26 bins
    param.quiet = true;
    param.copy_data = false;  // as LibMF's mf-train: the problem is ours to reorder
    float low = 1, high = 0;
    bool trace = false, trace_only = false;
    for (int a = 3; a < argc; a++) {
        std::string option = argv[a];
        auto next = [&]() -> const char * {
            if (a + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", option.c_str()); std::exit(2); }
            return argv[++a];
        };
        if (option == "-k") param.k = std::atoi(next());
        else if (option == "-t") param.nr_iters = std::atoi(next());
        else if (option == "-s") param.nr_threads = std::atoi(next());
        else if (option == "-n") param.nr_bins = std::atoi(next());
        else if (option == "-l2") param.lambda_p2 = param.lambda_q2 = (float)std::atof(next());
        else if (option == "-r") param.eta = (float)std::atof(next());
        else if (option == "--clip") { low = (float)std::atof(next()); high = (float)std::atof(next()); }
        else if (option == "--trace") trace = true;
        else if (option == "--trace-only") trace = trace_only = true;
        else { std::fprintf(stderr, "unknown option %s\n", option.c_str()); return 2; }
    }
    std::vector<mf_node> train_nodes, test_nodes;
    mf_problem train = read_binary(argv[1], train_nodes);
    mf_problem test = read_binary(argv[2], test_nodes);

    if (trace) {  // LibMF prints "iter tr_rmse va_rmse obj" per iteration; not timed
        std::vector<mf_node> copy_nodes(train_nodes);
        mf_problem copy = train;
        copy.R = copy_nodes.data();
        std::vector<mf_node> va_nodes(test_nodes);
        mf_problem va = test;
        va.R = va_nodes.data();
        mf_parameter verbose = param;
        verbose.quiet = false;
        mf_model *traced = mf_train_with_validation(&copy, &va, verbose);
        if (!traced) return 1;
        mf_destroy_model(&traced);
        std::cout << std::flush;
        if (trace_only) {
            std::printf("{\"trace_only\": true}\n");
            return 0;
        }
    }

    double cpu = cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    mf_model *model = mf_train(&train, param);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cpu = cpu_seconds() - cpu;
    if (!model) return 1;
    std::printf("{\"seconds\": %.6f, \"cpu_seconds\": %.6f, \"test_rmse\": %.6f, \"test_rmse_unclipped\": %.6f, "
                "\"k\": %d, \"iters\": %d, \"threads\": %d, \"bins\": %d, \"lambda\": %g, \"eta\": %g, "
                "\"train\": %lld, \"test\": %lld, \"peak_mb\": %.1f}\n",
                seconds, cpu, test_rmse(test, model, low, high), test_rmse(test, model, 1, 0), param.k,
                param.nr_iters, param.nr_threads, param.nr_bins, param.lambda_p2, param.eta,
                (long long)train.nnz, (long long)test.nnz, peak_mb());
    mf_destroy_model(&model);
    return 0;
}
