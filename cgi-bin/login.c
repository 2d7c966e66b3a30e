/*
 * login — FastCGI program of Farout auth. See API.md for its routes.
 */
#include "serve.h"

int main(int argc, char **argv)
{
	static const struct program prog = {
		.name = "login",
		.routes = NULL,
		.nroutes = 0,
		.config_needs = CONFIG_NEED_DB | CONFIG_NEED_JWT,
	};

	return serve_main(&prog, argc, argv);
}
