/*
 * openapi.c: the OpenAPI 3.1 document, made from the route table at run
 * time (paths, methods, parameters, headers, bodies, statuses), so the
 * document and the server cannot disagree. Only the shapes of bodies are
 * written here, as JSON Schema.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* clang-format off */
/* Each schema as "Name": {...}, joined into one object at run time. */
static const char *const schemas[] = {
	"\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\""
	":{\"error\":{\"type\":\"object\",\"required\":[\"code\",\"message\"],\"properties\":{\"code\":{\"type\":\"string\"},\"message\":{\"type\":\""
	"string\"}}}}}",
	"\"Status\":{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"}}}",
	"\"Done\":{\"type\":\"object\",\"properties\":{\"done\":{\"type\":\"boo"
	"lean\"}}}",
	"\"Fields\":{\"type\":\"object\",\"additionalProperties\":{\"oneOf\":[{"
	"\"type\":\"string\"},{\"type\":\"array\",\"items\":{\"type\":\"string\"}}]}}",
	"\"SubjectNew\":{\"type\":\"object\",\"required\":[\"kind\",\"fields\"]"
	",\"properties\":{\"kind\":{\"type\":\"string\"},\"fields\":{\"$ref\":\"#/components/schemas/Fields\"},\"source\":{\"type\":\"string\"}}}",
	"\"SubjectPatch\":{\"type\":\"object\",\"required\":[\"fields\"],\"prop"
	"erties\":{\"fields\":{\"$ref\":\"#/components/schemas/Fields\"},\"sour"
	"ce\":{\"type\":\"string\"}}}",
	"\"Id\":{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id"
	"\":{\"type\":\"string\",\"pattern\":\"^[0-9a-f]{32}$\"}}}",
	"\"Subject\":{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"field"
	"s\"],\"properties\":{\"id\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},\"purpose\":{\"type\":\"string\"},\"created_at\":{\"type\":"
	"\"integer\"},\"relationship\":{\"type\":\"object\"},\"fields\":{\"type"
	"\":\"object\"}}}",
	"\"SubjectPage\":{\"type\":\"object\",\"required\":[\"items\",\"next_cu"
	"rsor\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"typ"
	"e\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"kind\":{"
	"\"type\":\"string\"},\"start\":{\"type\":\"string\"},\"end\":{\"type\""
	":[\"string\",\"null\"]}}}},\"next_cursor\":{\"type\":[\"string\",\"nul"
	"l\"]}}}",
	"\"EndDate\":{\"type\":\"object\",\"properties\":{\"date\":{\"type\":\""
	"string\"}}}",
	"\"Convert\":{\"type\":\"object\",\"required\":[\"kind\"],\"properties\":{\"kind\":{\"type\":\"string\"},\"drop_disallowed\":{\"type\":\"bool"
	"ean\"}}}",
	"\"ConvertResult\":{\"type\":\"object\",\"properties\":{\"customer_numb"
	"er_issued\":{\"type\":\"boolean\"},\"expiry_changed\":{\"type\":\"inte"
	"ger\"},\"dropped\":{\"type\":\"string\"}}}",
	"\"Lookup\":{\"type\":\"object\",\"required\":[\"by\",\"value\"],\"prop"
	"erties\":{\"by\":{\"type\":\"string\"},\"value\":{\"type\":\"string\"}"
	"}}",
	"\"Ids\":{\"type\":\"object\",\"required\":[\"ids\"],\"properties\":{\""
	"ids\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}",
	"\"RecordNew\":{\"type\":\"object\",\"required\":[\"type\",\"fields\"],"
	"\"properties\":{\"type\":{\"type\":\"string\"},\"fields\":{\"type\":\""
	"object\"}}}",
	"\"RecordFields\":{\"type\":\"object\",\"required\":[\"fields\"],\"prop"
	"erties\":{\"fields\":{\"type\":\"object\"}}}",
	"\"CookieRecord\":{\"type\":\"object\",\"required\":[\"cookie\",\"type\",\"fields\"],\"properties\":{\"cookie\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},\"fields\":{\"type\":\"object\"}}}",
	"\"RecordId\":{\"type\":\"object\",\"required\":[\"record\"],\"properti"
	"es\":{\"record\":{\"type\":\"integer\"}}}",
	"\"RecordPage\":{\"type\":\"object\",\"required\":[\"items\",\"next_cur"
	"sor\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type"
	"\":\"object\"}},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}",
	"\"Consent\":{\"type\":\"object\",\"required\":[\"scope\",\"given\"],\""
	"properties\":{\"scope\":{\"type\":\"string\"},\"given\":{\"type\":\"bo"
	"olean\"},\"channel\":{\"type\":\"string\"},\"evidence\":{\"type\":\"st"
	"ring\"}}}",
	"\"Ledger\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}",
	"\"Objection\":{\"type\":\"object\",\"properties\":{\"objection\":{\"ty"
	"pe\":\"string\"},\"purpose\":{\"type\":\"string\"},\"lift\":{\"type\":"
	"\"boolean\"},\"channel\":{\"type\":\"string\"},\"evidence\":{\"type\":"
	"\"string\"},\"compelling_grounds\":{\"type\":\"string\"}}}",
	"\"Decision\":{\"type\":\"object\",\"required\":[\"allowed\",\"rule\"],"
	"\"properties\":{\"allowed\":{\"type\":\"boolean\"},\"rule\":{\"type\":"
	"\"string\"}}}",
	"\"Cookie\":{\"type\":\"object\",\"required\":[\"cookie\"],\"properties"
	"\":{\"cookie\":{\"type\":\"string\"}}}",
	"\"CookieReset\":{\"type\":\"object\",\"properties\":{\"unlinked\":{\"t"
	"ype\":\"integer\"},\"records_deleted\":{\"type\":\"integer\"}}}",
	"\"Erase\":{\"type\":\"object\",\"properties\":{\"dry_run\":{\"type\":\"boolean\"}}}",
	"\"Receipt\":{\"type\":\"object\",\"required\":[\"receipt\"],\"properti"
	"es\":{\"receipt\":{\"type\":\"string\"}}}",
	"\"Reason\":{\"type\":\"object\",\"required\":[\"reason\"],\"properties"
	"\":{\"reason\":{\"type\":\"string\"}}}",
	"\"Restriction\":{\"type\":\"object\",\"required\":[\"restricted\"],\"p"
	"roperties\":{\"restricted\":{\"type\":\"boolean\"}}}",
	"\"DsrNew\":{\"type\":\"object\",\"required\":[\"subject\",\"type\"],\""
	"properties\":{\"subject\":{\"type\":\"string\"},\"type\":{\"type\":\"s"
	"tring\"},\"received\":{\"type\":\"string\"},\"verified_by\":{\"type\":"
	"\"string\"}}}",
	"\"DsrNumber\":{\"type\":\"object\",\"required\":[\"number\"],\"propert"
	"ies\":{\"number\":{\"type\":\"integer\"}}}",
	"\"Dsr\":{\"type\":\"object\",\"required\":[\"number\",\"type\",\"statu"
	"s\"],\"properties\":{\"number\":{\"type\":\"integer\"},\"type\":{\"typ"
	"e\":\"string\"},\"status\":{\"type\":\"string\"}}}",
	"\"DsrPage\":{\"type\":\"object\",\"required\":[\"items\",\"next_cursor"
	"\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":"
	"\"#/components/schemas/Dsr\"}},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}",
	"\"DsrClose\":{\"type\":\"object\",\"required\":[\"outcome\"],\"propert"
	"ies\":{\"outcome\":{\"type\":\"string\",\"enum\":[\"done\",\"refused\""
	"]},\"reason\":{\"type\":\"string\"}}}",
	"\"Actors\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}",
	"\"ActorNew\":{\"type\":\"object\",\"required\":[\"name\",\"role\"],\"p"
	"roperties\":{\"name\":{\"type\":\"string\"},\"role\":{\"type\":\"strin"
	"g\"}}}",
	"\"ActorToken\":{\"type\":\"object\",\"required\":[\"name\",\"role\",\""
	"token\"],\"properties\":{\"name\":{\"type\":\"string\"},\"role\":{\"ty"
	"pe\":\"string\"},\"token\":{\"type\":\"string\"}}}",
	"\"AuditReport\":{\"type\":\"object\",\"required\":[\"intact\",\"rows_i"
	"ntact\"],\"properties\":{\"intact\":{\"type\":\"boolean\"},\"rows_inta"
	"ct\":{\"type\":\"boolean\"},\"entries\":{\"type\":\"integer\"},\"subje"
	"cts\":{\"type\":\"integer\"},\"first_bad\":{\"type\":\"integer\"},\"re"
	"ason\":{\"type\":\"string\"}}}",
	"\"AuditPage\":{\"type\":\"object\",\"required\":[\"items\",\"next_curs"
	"or\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}",
	/* the web console and the self-service page */
	"\"SelfLink\":{\"type\":\"object\",\"required\":[\"secret\",\"path\",\"expires\"],"
	"\"properties\":{\"secret\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},"
	"\"expires\":{\"type\":\"string\"}}}",
	"\"SelfSecret\":{\"type\":\"object\",\"required\":[\"secret\"],\"properties\":"
	"{\"secret\":{\"type\":\"string\"}}}",
	"\"SelfSession\":{\"type\":\"object\",\"required\":[\"token\",\"expires\"],"
	"\"properties\":{\"token\":{\"type\":\"string\"},\"expires\":{\"type\":\"string\"}}}",
	"\"SelfRequest\":{\"type\":\"object\",\"required\":[\"type\"],\"properties\":"
	"{\"type\":{\"type\":\"string\",\"enum\":[\"rectification\",\"erasure\"]}}}",
	/* checkpoints and backups */
	"\"Checkpoint\":{\"type\":\"object\",\"required\":[\"checkpoint\"],"
	"\"properties\":{\"checkpoint\":{\"type\":\"string\"},\"name\":{\"ty"
	"pe\":\"string\"}}}",
	"\"CheckpointText\":{\"type\":\"object\",\"required\":[\"checkpoint"
	"\"],\"properties\":{\"checkpoint\":{\"type\":\"string\"}}}",
	"\"CheckpointReport\":{\"type\":\"object\",\"required\":[\"intact\""
	"],\"properties\":{\"intact\":{\"type\":\"boolean\"},\"entries\":{\""
	"type\":\"integer\"},\"first_bad\":{\"type\":\"integer\"},\"reason\""
	":{\"type\":\"string\"}}}",
	"\"Backup\":{\"type\":\"object\",\"required\":[\"name\"],\"propert"
	"ies\":{\"name\":{\"type\":\"string\"},\"bytes\":{\"type\":\"intege"
	"r\"}}}",
	/* GET /v1/backups */
	"\"BackupList\":{\"type\":\"object\",\"required\":[\"backups\"],"
	"\"properties\":{\"backups\":{\"type\":\"array\",\"items\":{"
	"\"type\":\"object\",\"required\":[\"name\",\"bytes\",\"time\"],"
	"\"properties\":{\"name\":{\"type\":\"string\"},\"bytes\":{"
	"\"type\":\"integer\"},\"time\":{\"type\":\"string\"}}}}}}",
};
/* clang-format on */

static json_t *ref(const char *name)
{
	char buf[96];

	snprintf(buf, sizeof buf, "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", buf);
}

static json_t *content_of(const char *schema)
{
	return json_pack("{s:{s:o}}", "application/json", "schema",
			 ref(schema));
}

static json_t *header_param(const char *name, const char *desc, int req)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:{s:s}}", "name", name, "in",
			 "header", "description", desc, "required", req,
			 "schema", "type", "string");
}

static void add_error(json_t *resp, const char *status, const char *desc)
{
	json_object_set_new(resp, status,
			    json_pack("{s:s,s:o}", "description", desc,
				      "content", content_of("Error")));
}

static json_t *operation(const srv_route *rt)
{
	json_t *op, *params = json_array(), *resp = json_object();
	const char *t;
	char status[8];

	op = json_pack("{s:s,s:s}", "operationId", rt->op_id, "summary",
		       rt->summary);
	/* path parameters, in the template's order */
	for (t = strchr(rt->tmpl, '{'); t != NULL; t = strchr(t + 1, '{')) {
		char name[32];
		const char *end = strchr(t, '}');
		size_t n = end != NULL ? (size_t)(end - t - 1) : 0;
		if (n == 0 || n >= sizeof name)
			break;
		memcpy(name, t + 1, n);
		name[n] = '\0';
		json_array_append_new(params,
				      json_pack("{s:s,s:s,s:b,s:{s:s}}", "name",
						name, "in", "path", "required",
						1, "schema", "type", "string"));
	}
	if (rt->query != NULL) {
		const char *q = rt->query;
		while (*q != '\0') {
			char name[32];
			size_t n = strcspn(q, ",");
			if (n > 0 && n < sizeof name) {
				memcpy(name, q, n);
				name[n] = '\0';
				json_array_append_new(
					params,
					json_pack("{s:s,s:s,s:b,s:{s:s}}",
						  "name", name, "in", "query",
						  "required", 0, "schema",
						  "type", "string"));
			}
			q += n;
			if (*q == ',')
				q++;
		}
	}
	if (rt->flags & R_PURPOSE)
		json_array_append_new(
			params, header_param("Rekisteri-Purpose",
					     "The purpose the data is "
					     "processed for (a purpose of "
					     "the policy)",
					     1));
	if (rt->flags & R_IDEM)
		json_array_append_new(
			params,
			header_param("Idempotency-Key",
				     "Repeats of the same key and body get "
				     "the first answer, not a second "
				     "creation",
				     0));
	if (rt->flags & R_IFMATCH)
		json_array_append_new(
			params, header_param("If-Match",
					     "The ETag the client read (or a "
					     "list of them, or *); 412 when "
					     "the resource changed since",
					     0));
	json_object_set_new(op, "parameters", params);
	if (rt->req_schema != NULL) {
		json_t *content = content_of(rt->req_schema);
		if (rt->flags & R_MULTI)
			json_object_set_new(
				content, "multipart/form-data",
				json_pack("{s:{s:s,s:{s:o,s:{s:s,s:s}}}}",
					  "schema", "type", "object",
					  "properties", "record",
					  ref(rt->req_schema), "attachment",
					  "type", "string", "format",
					  "binary"));
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b,s:o}", "required", 1,
					      "content", content));
	}
	snprintf(status, sizeof status, "%u", rt->ok);
	if (rt->ok == 204)
		json_object_set_new(resp, status,
				    json_pack("{s:s}", "description", "done"));
	else if (rt->resp_schema != NULL)
		json_object_set_new(resp, status,
				    json_pack("{s:s,s:o}", "description", "ok",
					      "content",
					      content_of(rt->resp_schema)));
	else
		json_object_set_new(resp, status,
				    json_pack("{s:s}", "description", "ok"));
	if (rt->flags & (R_JSON | R_PURPOSE))
		add_error(resp, "400", "malformed request");
	if (rt->flags & (R_SELF | R_LIMITED)) {
		add_error(resp, "401", "no session, or an ended one");
		add_error(resp, "410", "the link was used or has expired");
		add_error(resp, "429", "too many failures from this address");
	}
	if (rt->flags & R_AUTH) {
		add_error(resp, "401", "no token, or a bad one");
		add_error(resp, "403", "refused by role, purpose or policy");
		add_error(resp, "404", "no such resource");
		add_error(resp, "429", "too many failed authentications");
	}
	if (rt->flags & R_IDEM)
		add_error(resp, "409", "the same Idempotency-Key is in use");
	if (rt->flags & R_IFMATCH)
		add_error(resp, "412", "If-Match does not match");
	if (rt->flags & R_JSON) {
		add_error(resp, "413", "the body is too large");
		add_error(resp, "415", "the body is not application/json");
		add_error(resp, "422", "an invalid value");
	}
	add_error(resp, "500", "failure of the system");
	if (rt->flags & R_READY)
		add_error(resp, "503", "starting or shutting down");
	json_object_set_new(op, "responses", resp);
	if (rt->flags & R_AUTH)
		json_object_set_new(op, "security",
				    json_pack("[{s:[]}]", "bearer"));
	if (rt->flags & R_SELF)
		json_object_set_new(op, "security",
				    json_pack("[{s:[]}]", "selfservice"));
	/* serve --read-replica: its reads may be a replay lag old */
	if (rt->flags & R_REPLICA)
		json_object_set_new(op, "x-rekisteri-read-replica",
				    json_true());
	return op;
}

static const char *lower(unsigned m)
{
	switch (m) {
	case SRV_GET:
		return "get";
	case SRV_POST:
		return "post";
	case SRV_PUT:
		return "put";
	case SRV_PATCH:
		return "patch";
	default:
		return "delete";
	}
}

char *srv_openapi(void)
{
	json_error_t err;
	json_t *doc, *paths = json_object(), *comps;
	char *s;
	size_t i;

	comps = json_object();
	for (i = 0; comps != NULL && i < sizeof schemas / sizeof *schemas;
	     i++) {
		char one[4096];
		json_t *v;
		snprintf(one, sizeof one, "{%s}", schemas[i]);
		v = json_loads(one, 0, &err);
		if (v == NULL || json_object_update(comps, v) != 0) {
			json_decref(v);
			json_decref(comps);
			comps = NULL;
			break;
		}
		json_decref(v);
	}
	if (comps == NULL || paths == NULL) {
		json_decref(comps);
		json_decref(paths);
		return NULL;
	}
	for (i = 0; i < srv_nroutes; i++) {
		const srv_route *rt = &srv_routes[i];
		json_t *item = json_object_get(paths, rt->tmpl);
		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, rt->tmpl, item);
		}
		json_object_set_new(item, lower(rt->method), operation(rt));
	}
	doc = json_pack(
		"{s:s,s:{s:s,s:s,s:s},s:o,s:{s:o,s:{s:{s:s,s:s,s:s}}}}",
		"openapi", "3.1.0", "info", "title", "rekisteri HTTP API",
		"version", rk_version(), "description",
		"The customer data register over JSON. Every data call names "
		"its purpose in Rekisteri-Purpose; tokens are "
		"'Authorization: Bearer TOKEN', the token of an actor (or "
		"NAME:TOKEN). Personal data never "
		"travels in a URL.",
		"paths", paths, "components", "schemas", comps,
		"securitySchemes", "bearer", "type", "http", "scheme", "bearer",
		"description", "the token of an actor");
	if (doc != NULL)
		json_object_set_new(
			json_object_get(json_object_get(doc, "components"),
					"securitySchemes"),
			"selfservice",
			json_pack("{s:s,s:s,s:s}", "type", "http", "scheme",
				  "bearer", "description",
				  "a self-service session's token"));
	if (doc == NULL)
		return NULL;
	s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return s;
}
