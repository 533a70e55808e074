/*
 * eventhub — entry point: parse the command line, load the configuration, set up
 * logging and signals, and hand over to app_run().
 */
#include "app.h"
#include "config/config.h"
#include "eventhub_version.h"
#include "core/log.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli {
    const char *config_path;
    const char *log_level;
    const char *log_file;
    int domain_logging; /* -1 = from config */
    bool check_config;
    bool version;
    bool help;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: eventhub [options]\n"
            "\n"
            "Takes call events (POST /events), stores them in NATS JetStream and delivers\n"
            "each to every webhook endpoint configured for its domain.\n"
            "\n"
            "Options (one or two dashes; -name value or -name=value):\n"
            "  -config FILE            configuration file (default: config.yaml)\n"
            "  -log-level LEVEL        debug, info, warn or error (default: from config, info)\n"
            "  -log-file FILE          write logs to FILE instead of stderr\n"
            "  -domain-logging[=BOOL]  per-domain event logs under log.dir (default: true)\n"
            "  --check-config [FILE]   validate FILE (default: the -config file) and exit\n"
            "  --version               print the version and exit\n"
            "  --help                  print this help and exit\n"
            "\n"
            "Exit status:\n"
            "  0  stopped cleanly after SIGTERM or SIGINT (in-flight work drained); with\n"
            "     --check-config: the configuration is valid\n"
            "  1  the configuration is invalid (each error with file:line on stderr), or\n"
            "     start-up failed (the log says why: port in use, log file, NATS, ...)\n"
            "  2  usage error: an unknown option or a missing value\n"
            "SIGHUP reloads the routes and keys from the configuration file.\n");
}

static bool parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = 0;
    else
        return false;
    return true;
}

/* Returns 0 when parsed, 2 on a usage error (printed). */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-') {
            fprintf(stderr, "eventhub: unexpected argument '%s' (see --help)\n", arg);
            return 2;
        }
        arg += arg[1] == '-' ? 2 : 1;
        char name[64];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (name_len >= sizeof name) {
            fprintf(stderr, "eventhub: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        if (eq)
            value = eq + 1;

        if (!strcmp(name, "check-config")) {
            cli->check_config = true;
            /* --check-config FILE / --check-config=FILE: the file to check. */
            if (!value && i + 1 < argc && argv[i + 1][0] != '-')
                value = argv[++i];
            if (value)
                cli->config_path = value;
        } else if (!strcmp(name, "version")) {
            cli->version = true;
        } else if (!strcmp(name, "help") || !strcmp(name, "h")) {
            cli->help = true;
        } else if (!strcmp(name, "domain-logging")) {
            int b = 1;
            if (value && !parse_bool(value, &b)) {
                fprintf(stderr, "eventhub: -domain-logging takes true or false, not '%s'\n", value);
                return 2;
            }
            cli->domain_logging = b;
        } else if (!strcmp(name, "config") || !strcmp(name, "log-level") ||
                   !strcmp(name, "log-file")) {
            if (!value) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "eventhub: option '%s' needs a value\n", argv[i]);
                    return 2;
                }
                value = argv[++i];
            }
            if (!strcmp(name, "config"))
                cli->config_path = value;
            else if (!strcmp(name, "log-level"))
                cli->log_level = value;
            else
                cli->log_file = value;
        } else {
            fprintf(stderr, "eventhub: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = {.config_path = "config.yaml", .domain_logging = -1};
    int rc = parse_cli(argc, argv, &cli);
    if (rc != 0)
        return rc;
    if (cli.help) {
        usage(stdout);
        return 0;
    }
    if (cli.version) {
        printf("eventhub %s\n", EVENTHUB_VERSION);
        return 0;
    }
    if (cli.log_level) {
        enum log_level level;
        if (!log_level_parse(cli.log_level, &level)) {
            fprintf(stderr, "eventhub: unknown log level '%s' (debug, info, warn, error)\n",
                    cli.log_level);
            return 2;
        }
        log_set_level(level);
    }

    if (cli.domain_logging >= 0) /* also for every reload */
        config_set_domain_logging_override(cli.domain_logging);
    char *errors = NULL;
    struct config *cfg = config_load(cli.config_path, &errors);
    if (!cfg) {
        fprintf(stderr, "eventhub: invalid configuration:\n%s\n", errors ? errors : "");
        free(errors);
        return 1;
    }
    if (cli.check_config) {
        printf("%s: configuration is valid (%zu route%s)\n", cli.config_path, cfg->route_count,
               cfg->route_count == 1 ? "" : "s");
        config_unref(cfg);
        return 0;
    }
    if (!cli.log_level) {
        enum log_level level;
        if (log_level_parse(cfg->log.level, &level))
            log_set_level(level);
    }
    const char *log_file = cli.log_file ? cli.log_file : cfg->log.file;
    if (log_file && log_open(log_file) < 0) {
        fprintf(stderr, "eventhub: cannot open log file %s\n", log_file);
        config_unref(cfg);
        return 1;
    }

    /* Signals are taken by the main thread only (sigwait in app_run): block them
     * before any thread exists so every thread inherits the mask. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int status = app_run(cfg);
    config_unref(cfg);
    curl_global_cleanup();
    log_close();
    return status;
}
