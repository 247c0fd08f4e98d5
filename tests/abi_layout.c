/* Prints the size of every public struct a program allocates and the library reads or fills
 * (one "struct NAME SIZE" line each), for the ABI check (tests/abi.sh): a struct without
 * struct_size that changes size breaks programs built against the last release. */
#include <stdio.h>

#include "infinite_tensor.h"

#define SIZE(T) printf("struct %s %zu\n", #T, sizeof(T))

int main(void) {
    SIZE(it_chunk_view);
    SIZE(it_codec_info);
    SIZE(it_ctx_options);
    SIZE(it_export_info);
    SIZE(it_export_options);
    SIZE(it_hdf5_compact_info);
    SIZE(it_hdf5_index_report);
    SIZE(it_hdf5_layout);
    SIZE(it_hdf5_options);
    SIZE(it_hdf5_progress);
    SIZE(it_mapped_array);
    SIZE(it_memory_store_options);
    SIZE(it_preview_options);
    SIZE(it_region);
    SIZE(it_tensor_counters);
    SIZE(it_tensor_desc);
    SIZE(it_tensor_info);
    SIZE(it_tensor_stats);
    SIZE(it_weight_profile);
    SIZE(it_window);
    SIZE(it_window_batch);
    return 0;
}
