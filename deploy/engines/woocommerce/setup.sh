#!/usr/bin/env bash
# The WooCommerce store's setup Job: installs WordPress, activates WooCommerce, turns Cash on Delivery on, adds
# sample products and opens the shop. Baked into the store image as /usr/local/bin/urumi-setup; the chart's Job runs it.
# Safe to re-run: every step looks before it changes anything. Secrets arrive in the environment (secretKeyRef) and
# never become command-line arguments or log lines.
set -Eeuo pipefail

: "${WORDPRESS_DB_HOST:?}" "${WORDPRESS_DB_USER:?}" "${WORDPRESS_DB_PASSWORD:?}" "${WORDPRESS_DB_NAME:?}"
: "${URUMI_STORE_URL:?}" "${URUMI_STORE_NAME:?}" "${URUMI_ADMIN_USER:?}" "${URUMI_ADMIN_EMAIL:?}"
: "${URUMI_ADMIN_PASSWORD:?}"
: "${URUMI_SAMPLE_PRODUCTS:=true}"

log() { printf '[setup] %s\n' "$*"; }

# WP-CLI with enough memory for WooCommerce's installer (the container's limit is 512Mi).
wp() { php -d memory_limit=384M /usr/local/bin/wp --path=/var/www/wordpress "$@"; }
as_admin() { wp "$@" --user="$URUMI_ADMIN_USER"; }

log "waiting for the database at ${WORDPRESS_DB_HOST}"
# The Job's activeDeadlineSeconds bounds this wait.
# shellcheck disable=SC2016 # PHP code: its $ are PHP's
until php -r '
  mysqli_report(MYSQLI_REPORT_OFF);
  $db = @mysqli_connect(getenv("WORDPRESS_DB_HOST"), getenv("WORDPRESS_DB_USER"),
    getenv("WORDPRESS_DB_PASSWORD"), getenv("WORDPRESS_DB_NAME"));
  exit($db ? 0 : 1);
'; do
  sleep 3
done

if wp core is-installed; then
  log "WordPress is installed"
else
  log "installing WordPress"
  # --prompt reads the password from stdin, so it never shows in the process list.
  printf '%s\n' "$URUMI_ADMIN_PASSWORD" | wp core install --url="$URUMI_STORE_URL" --title="$URUMI_STORE_NAME" \
    --admin_user="$URUMI_ADMIN_USER" --admin_email="$URUMI_ADMIN_EMAIL" --skip-email --prompt=admin_password
fi

if ! wp plugin is-active woocommerce; then
  log "activating WooCommerce"
  wp plugin activate woocommerce
fi
# After an image upgrade: WooCommerce's pending database updates, and any shop page that is missing.
wp wc update
as_admin wc tool run install_pages >/dev/null

log "turning Cash on Delivery on"
as_admin wc payment_gateway update cod --enabled=1 >/dev/null

if [ "$(as_admin wc shipping_zone_method list 0 --format=count)" = 0 ]; then
  log "offering free shipping everywhere"
  as_admin wc shipping_zone_method create 0 --method_id=free_shipping --enabled=true >/dev/null
fi

if [ "$URUMI_SAMPLE_PRODUCTS" = true ] && [ "$(wp post list --post_type=product --post_status=any --format=count)" = 0 ]; then
  log "adding sample products"
  while IFS='|' read -r sku name price description; do
    as_admin wc product create --type=simple --status=publish --sku="$sku" --name="$name" \
      --regular_price="$price" --description="$description" --porcelain </dev/null >/dev/null
  done <<'PRODUCTS'
urumi-tee|Urumi T-shirt|19.00|A soft cotton T-shirt.
urumi-mug|Urumi mug|9.50|A stoneware mug for the morning coffee.
urumi-cap|Urumi cap|14.00|A cap with an embroidered logo.
urumi-tote|Urumi tote bag|12.00|A sturdy canvas tote bag.
PRODUCTS
fi

# Skip the onboarding wizard only on a fresh shop; an owner's own answers are kept.
if ! wp option get woocommerce_onboarding_profile >/dev/null 2>&1; then
  wp option add woocommerce_onboarding_profile '{"skipped":true}' --format=json >/dev/null
fi

if [ "$(wp option get permalink_structure)" != '/%postname%/' ]; then
  log "turning pretty permalinks on"
  wp rewrite structure '/%postname%/'
fi

log "opening the shop"
wp option update woocommerce_coming_soon no

log "ready at ${URUMI_STORE_URL}"
