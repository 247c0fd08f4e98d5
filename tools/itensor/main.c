/* itensor: inspect, export, preview and verify infinite-tensor HDF5 stores. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: itensor COMMAND [ARGS]\n"
    "\n"
    "Inspect and export infinite-tensor HDF5 stores.\n"
    "\n"
    "commands:\n"
    "  ls [--json] FILE             tensors: shape, dtype, chunks, codec, stored data, bytes\n"
    "  info [--json] FILE ID        all metadata of one tensor, where its data lie in the file,\n"
    "                               and its arguments\n"
    "  export FILE ID --region R -o OUT [--dataset N] [--contiguous] [--compression C]\n"
    "         [--level L] [--overwrite | --if-identical] [--missing-as-fill]\n"
    "         [--units U] [--long-name S] [--dim-names A,B] [--fill-value V]\n"
    "                               write a region to a standard HDF5 file (netCDF-readable)\n"
    "  preview FILE ID --region R -o OUT.png [--colormap gray|viridis|terrain]\n"
    "                               [--range LO:HI] [--colorbar] [--sample] [--missing-as-fill]\n"
    "                               render as PNG (steps average their boxes)\n"
    "  verify FILE                  read and decode every stored chunk, check metadata\n"
    "  rm FILE ID [--force]         delete a tensor and its data from the store\n"
    "  upgrade FILE                 convert a store of infinite-tensor 0.1 (format 1), which\n"
    "                               you trust, to the current format\n"
    "  demo [DIR]                   build a procedural terrain into DIR (default demo-out)\n"
    "\n"
    "Regions are numpy-like, one item per dimension: 0:3,-512:512,0:1024:2\n"
    "Options take --name value or --name=value, before or after the arguments.\n"
    "Run 'itensor COMMAND --help' for details. Exit status: 0 ok, 1 failure, 2 usage error.\n";

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
                    {"upgrade", cmd_upgrade}, {"demo", cmd_demo}};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return cli_usage_error("unknown command \"%s\"", argv[1]);
}
