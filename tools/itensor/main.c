/* itensor: inspect, export, preview and verify infinite-tensor HDF5 stores. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: itensor COMMAND [ARGS]\n"
    "\n"
    "Inspect, export and maintain infinite-tensor HDF5 stores.\n"
    "\n"
    "Commands:\n"
    "  ls [--json] FILE             tensors: shape, dtype, chunks, codec, stored data, bytes\n"
    "  info [--json] FILE ID        all metadata of one tensor, where its data lie in the file,\n"
    "                               and its arguments\n"
    "  export FILE ID --region R -o OUT [options]\n"
    "                               write a region to a standard HDF5 file (netCDF/CF-readable)\n"
    "  preview FILE ID --region R -o OUT.png [options]\n"
    "                               render a region as PNG (steps average their boxes)\n"
    "  verify [--json] FILE         read and decode every stored chunk, check metadata\n"
    "  rm [--json] FILE ID [--force]  delete a tensor and its data from the store\n"
    "  compact [--json] FILE        rewrite the store without the space deleted data left\n"
    "  upgrade FILE                 convert a store of infinite-tensor 0.1 (format 1), which\n"
    "                               you trust, to the current format\n"
    "  demo [DIR]                   build a procedural terrain into DIR (default demo-out)\n"
    "\n"
    "Regions are numpy-like, one item per dimension: 0:3,-512:512,0:1024:2\n"
    "Options take --name value or --name=value, before or after the arguments.\n"
    "Run 'itensor COMMAND --help' (or man itensor-COMMAND) for details.\n"
    "Exit status: 0 ok, 1 failure, 2 usage error. IT_LOG=debug logs what the library decides.\n";

int main(int argc, char **argv) {
    if (argc < 2)
        return cli_usage_error("missing COMMAND");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("itensor (infinite-tensor) %s\n", it_version_string());
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {{"ls", cmd_ls},           {"info", cmd_info},     {"export", cmd_export},
                    {"preview", cmd_preview}, {"verify", cmd_verify}, {"rm", cmd_rm},
                    {"compact", cmd_compact},
                    {"upgrade", cmd_upgrade}, {"demo", cmd_demo}};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (argc == 3 && strcmp(argv[2], "--version") == 0) { /* help2man's per-command pages */
            printf("itensor-%s (infinite-tensor) %s\n", commands[i].name, it_version_string());
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error("unknown command \"%s\"", argv[1]);
}
