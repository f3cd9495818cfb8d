/** OAuthenticator traits (config.md §8). */
import type { ClassDef, TraitDef } from '../types.js';
import { bool, callable, command, deprecated, dict, envDefault, int, list, set, union, unicode } from './helpers.js';

const truthy = (v: string | undefined) => !!v && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

export const OAuthenticator: ClassDef = {
  name: 'OAuthenticator',
  parent: 'Authenticator',
  help: 'Log in through an OAuth 2 / OpenID Connect provider (settings shared by all providers).',
  aliases: ['oauthenticator.OAuthenticator', 'oauthenticator.oauth2.OAuthenticator'],
  traits: [
    unicode('client_id', '', 'Client id registered at the provider.', envDefault('OAUTH_CLIENT_ID')),
    unicode('client_secret', '', 'Client secret registered at the provider.', envDefault('OAUTH_CLIENT_SECRET')),
    unicode('oauth_callback_url', '', 'Redirect URI registered at the provider; empty: derived from the request (<proto>://<host>{hub}oauth_callback).', envDefault('OAUTH_CALLBACK_URL')),
    unicode('authorize_url', '', "Provider's authorization endpoint.", envDefault('OAUTH2_AUTHORIZE_URL')),
    unicode('token_url', '', "Provider's token endpoint.", envDefault('OAUTH2_TOKEN_URL')),
    unicode('userdata_url', '', "Provider's user-info endpoint.", envDefault('OAUTH2_USERDATA_URL')),
    bool('userdata_from_id_token', false, 'Read the user information from the id_token instead of calling userdata_url.'),
    union('username_claim', ['Unicode', 'Callable'], 'username', 'Field of the user information holding the user name, or a function (userdata) returning it.', envDefault('OAUTH2_USERNAME_KEY', 'username')),
    list('scope', [], 'Scopes requested from the provider.', { items: 'Unicode' }),
    list('allowed_scopes', [], 'Let in users who were granted all of these scopes.', { items: 'Unicode' }),
    unicode('login_service', 'OAuth 2.0', 'Provider name shown on the login button.'),
    bool('allow_existing_users', false, 'Let in users that already exist in the database.'),
    set('allowed_groups', [], "Let in members of these provider groups (needs manage_groups).", { items: 'Unicode' }),
    set('admin_groups', [], 'Members of these provider groups are admins and may log in (needs manage_groups).', { items: 'Unicode' }),
    union('auth_state_groups_key', ['Unicode', 'Callable'], null, "Where the user's groups are found in auth_state (dotted path such as 'oauth_user.groups'), or a function (auth_state).", { allowNone: true }),
    bool('refresh_pre_spawn', false, "Refresh the user's tokens before starting a server.", {
      dynamicDefault: (ctx) => ctx.get(ctx.cls, 'enable_auth_state') === true,
      defaultText: 'True when enable_auth_state is set',
    }),
    bool('basic_auth', false, 'Send client id and secret with HTTP Basic authentication to token_url rather than in the body.', {
      dynamicDefault: (ctx) => truthy(ctx.env.OAUTH2_BASIC_AUTH),
      defaultText: '$OAUTH2_BASIC_AUTH or False',
    }),
    bool('enable_pkce', true, 'Use PKCE (S256) in the authorization flow.'),
    dict('token_params', {}, 'Extra parameters for the token request.'),
    dict('extra_authorize_params', {}, 'Extra query parameters for the authorization request.'),
    dict('userdata_params', {}, 'Extra query parameters for the user-info request.'),
    unicode('userdata_token_method', 'header', "How the access token is sent to userdata_url: 'header' or 'url'.", envDefault('OAUTH2_USERDATA_REQUEST_TYPE', 'header')),
    bool('validate_server_cert', true, "Check the provider's TLS certificates.", {
      dynamicDefault: (ctx) => ctx.env.OAUTH_TLS_VERIFY !== '0',
      defaultText: "True unless $OAUTH_TLS_VERIFY is '0'",
    }),
    dict('http_request_kwargs', {}, 'Extra options for HTTP requests to the provider.'),
    unicode('logout_redirect_url', '', 'Where to send users after logging out of the hub.', envDefault('OAUTH_LOGOUT_REDIRECT_URL')),
    unicode('custom_403_message', 'Sorry, you are not currently authorized to use this hub. Please contact the hub administrator.', 'Text of the page shown to authenticated users who are not allowed in.'),
    callable('modify_auth_state_hook', 'Function (authenticator, auth_state) returning a changed auth_state.'),
    callable('refresh_user_hook', 'Function (authenticator, user, auth_state) deciding whether and how to refresh.'),
    dict('extra_params', {}, 'Old name of token_params.', deprecated('16.0', 'OAuthenticator.token_params')),
    bool('tls_verify', true, 'Old name of validate_server_cert.', deprecated('16.0', 'OAuthenticator.validate_server_cert')),
  ],
};

export const GenericOAuthenticator: ClassDef = {
  name: 'GenericOAuthenticator',
  parent: 'OAuthenticator',
  help: 'OAuthenticator for any standard OAuth 2 / OpenID Connect provider.',
  aliases: ['generic', 'generic-oauth', 'oauthenticator.generic.GenericOAuthenticator', 'oauthenticator.GenericOAuthenticator'],
  traits: [
    unicode('login_service', 'OAuth 2.0', 'Provider name shown on the login button.', envDefault('LOGIN_SERVICE', 'OAuth 2.0')),
    union('username_key', ['Unicode', 'Callable'], 'username', 'Old name of username_claim.', deprecated('16.0', 'OAuthenticator.username_claim')),
    union('claim_groups_key', ['Unicode', 'Callable'], 'groups', "Old way to name the groups field: same as auth_state_groups_key = 'oauth_user.<key>' (needs manage_groups).", {
      ...envDefault('OAUTH2_GROUPS_KEY', 'groups'),
      ...deprecated('17.0', undefined, "use auth_state_groups_key = 'oauth_user.<key>'"),
    }),
    unicode('userdata_method', 'GET', 'Old setting for the user-info request method.', deprecated('16.0')),
  ],
};

const localTraits: TraitDef[] = [
  bool('create_system_users', false, 'Create a system account (with add_user_cmd) for users that do not have one.'),
  command('add_user_cmd', ['adduser', '-q', '--gecos', '""', '--disabled-password'], "Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended."),
  dict('uids', {}, 'Fixed uids for created accounts (name -> uid).', { items: 'Int' }),
];

export const LocalGenericOAuthenticator: ClassDef = {
  name: 'LocalGenericOAuthenticator',
  parent: 'GenericOAuthenticator',
  help: 'GenericOAuthenticator that also maps users to (and can create) system accounts.',
  aliases: ['local-generic', 'local-generic-oauth', 'oauthenticator.generic.LocalGenericOAuthenticator', 'oauthenticator.LocalGenericOAuthenticator'],
  traits: localTraits,
};

/** Provider-specific OAuthenticators that jhub does not implement (yet). */
function provider(name: string, module: string, alias: string, traits: TraitDef[], local = true): ClassDef[] {
  const why = `${name} is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints`;
  const out: ClassDef[] = [
    {
      name,
      parent: 'OAuthenticator',
      help: `OAuthenticator for ${alias} (known to jhub so that configs load, not available yet).`,
      aliases: [alias, `oauthenticator.${module}.${name}`, `oauthenticator.${name}`],
      traits,
      unavailable: why,
    },
  ];
  if (local) {
    out.push({
      name: `Local${name}`,
      parent: name,
      help: `${name} mapped to system accounts (not available yet).`,
      aliases: [`local-${alias}`, `oauthenticator.${module}.Local${name}`, `oauthenticator.Local${name}`],
      traits: localTraits,
      unavailable: why,
    });
  }
  return out;
}

export const providerClasses: ClassDef[] = [
  ...provider('GitHubOAuthenticator', 'github', 'github', [
    set('allowed_organizations', [], 'Let in members of these GitHub organizations (or org:team).', { items: 'Unicode' }),
    unicode('github_url', 'https://github.com', 'Base URL of the GitHub instance.'),
    bool('populate_teams_in_auth_state', false, "Put the user's teams in auth_state."),
  ]),
  ...provider('GitLabOAuthenticator', 'gitlab', 'gitlab', [
    unicode('gitlab_url', 'https://gitlab.com', 'Base URL of the GitLab instance.'),
    set('allowed_gitlab_groups', [], 'Let in members of these GitLab groups.', { items: 'Unicode' }),
    set('allowed_project_ids', [], 'Let in members of these GitLab projects.'),
  ]),
  ...provider('GoogleOAuthenticator', 'google', 'google', [
    set('hosted_domain', [], 'Only accept accounts of these Google Workspace domains.', { items: 'Unicode' }),
    dict('allowed_google_groups', {}, 'Let in members of these Google groups, per domain.'),
    dict('admin_google_groups', {}, 'Members of these Google groups are admins, per domain.'),
    unicode('google_service_account_keys', '', 'Service account keys used to read groups.'),
  ]),
  ...provider('AzureAdOAuthenticator', 'azuread', 'azuread', [
    unicode('tenant_id', '', 'Azure AD tenant id.', envDefault('AAD_TENANT_ID')),
  ]),
  ...provider('Auth0OAuthenticator', 'auth0', 'auth0', [
    unicode('auth0_domain', '', 'Auth0 domain (e.g. example.us.auth0.com).', envDefault('AUTH0_DOMAIN')),
    unicode('auth0_subdomain', '', 'Old way to give the Auth0 domain.', envDefault('AUTH0_SUBDOMAIN')),
  ]),
  ...provider('BitbucketOAuthenticator', 'bitbucket', 'bitbucket', [
    set('allowed_teams', [], 'Let in members of these Bitbucket workspaces.', { items: 'Unicode' }),
  ]),
  ...provider('CILogonOAuthenticator', 'cilogon', 'cilogon', [
    dict('allowed_idps', {}, 'Identity providers accepted, with per-provider username settings.'),
    unicode('cilogon_host', 'cilogon.org', 'CILogon host.'),
  ]),
  ...provider('GlobusOAuthenticator', 'globus', 'globus', [
    set('allowed_globus_groups', [], 'Let in members of these Globus groups.', { items: 'Unicode' }),
    set('identity_provider', [], 'Accepted Globus identity providers.'),
  ]),
  ...provider('MWOAuthenticator', 'mediawiki', 'mediawiki', [
    unicode('index_url', 'https://meta.wikimedia.org/w/index.php', 'MediaWiki index.php URL.'),
  ], false),
  ...provider('OpenShiftOAuthenticator', 'openshift', 'openshift', [
    unicode('openshift_url', 'https://openshift.default.svc.cluster.local', 'Base URL of the OpenShift cluster.'),
    unicode('openshift_auth_api_url', '', 'OpenShift OAuth API URL.'),
    unicode('openshift_rest_api_url', '', 'OpenShift REST API URL.'),
  ]),
];
