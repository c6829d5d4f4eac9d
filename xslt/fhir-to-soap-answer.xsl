<?xml version="1.0" encoding="UTF-8"?>
<!--
  fhir-to-soap-answer.xsl - the pipeline's FHIR answer to the body of the
  SOAP response of one interaction: the RIV-TA result, then the fields the
  Responder XSD defines for that interaction.

  Input: the FHIR answer (a response message Bundle, a searchset Bundle or
  an OperationOutcome). Parameters (all strings):
    op           interaction name, e.g. SubmitLicenseMotivation
    ns           its Responder namespace
    kind         receipt | cases | motivation | check | dispensing | none
    result-code  OK | ERROR | INFO
    error-code   INVALID_REQUEST | TRANSFORMATION_ERROR | APPLICATION_ERROR |
                 TECHNICAL_ERROR | ''
    sub-code     the gateway's own reason (its error name, e.g. EVALIDATION)
    log-id       the request id (always written: logId is required)
    text         text to put before the OperationOutcome's issues
  On ERROR only the result is written; message lists every issue of an
  OperationOutcome as "FHIRPath: svensk text / English text". A receipt
  that carries warnings (an OperationOutcome entry, MessageHeader.response
  .details) is answered INFO, its warnings in message the same way.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns:core="urn:riv:klas:1"
    exclude-result-prefixes="f">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:param name="op"/>
  <xsl:param name="ns"/>
  <xsl:param name="kind" select="'none'"/>
  <xsl:param name="result-code" select="'OK'"/>
  <xsl:param name="error-code" select="''"/>
  <xsl:param name="sub-code" select="''"/>
  <xsl:param name="log-id" select="''"/>
  <xsl:param name="text" select="''"/>

  <xsl:variable name="refsys" select="'http://klasgw.org/fhir/NamingSystem/referensnummer'"/>

  <xsl:template match="/">
    <xsl:element name="{$op}Response" namespace="{$ns}">
      <xsl:element name="result" namespace="{$ns}">
        <xsl:variable name="warnings" select="f:Bundle[$kind = 'receipt']/f:entry/f:resource/f:OperationOutcome/f:issue[f:severity/@value = 'warning']"/>
        <core:resultCode>
          <xsl:choose>
            <xsl:when test="$result-code = 'OK' and $warnings">INFO</xsl:when>
            <xsl:otherwise><xsl:value-of select="$result-code"/></xsl:otherwise>
          </xsl:choose>
        </core:resultCode>
        <xsl:if test="$error-code != ''">
          <core:errorCode><xsl:value-of select="$error-code"/></core:errorCode>
        </xsl:if>
        <xsl:if test="$sub-code != ''">
          <core:subCode><xsl:value-of select="$sub-code"/></core:subCode>
        </xsl:if>
        <core:logId><xsl:value-of select="$log-id"/></core:logId>
        <xsl:variable name="issues">
          <xsl:for-each select="f:OperationOutcome/f:issue[f:severity/@value != 'information'] | $warnings">
            <xsl:if test="position() &gt; 1">; </xsl:if>
            <xsl:for-each select="f:expression">
              <xsl:call-template name="field"><xsl:with-param name="e" select="@value"/></xsl:call-template>
              <xsl:text>: </xsl:text>
            </xsl:for-each>
            <xsl:value-of select="f:details/f:text/@value"/>
            <xsl:if test="f:details/f:coding/f:display/@value">
              <xsl:text> / </xsl:text>
              <xsl:value-of select="f:details/f:coding/f:display/@value"/>
            </xsl:if>
            <xsl:if test="f:diagnostics/@value">
              <xsl:text> (</xsl:text>
              <xsl:value-of select="f:diagnostics/@value"/>
              <xsl:text>)</xsl:text>
            </xsl:if>
          </xsl:for-each>
        </xsl:variable>
        <xsl:if test="$text != '' or string($issues) != ''">
          <core:message>
            <xsl:value-of select="$text"/>
            <xsl:if test="$text != '' and string($issues) != ''">: </xsl:if>
            <xsl:value-of select="$issues"/>
          </core:message>
        </xsl:if>
      </xsl:element>
      <xsl:if test="$result-code != 'ERROR'">
        <xsl:choose>
          <xsl:when test="$kind = 'receipt'">
            <xsl:apply-templates select="(f:Bundle/f:entry/f:resource/f:Task)[1]" mode="receipt"/>
          </xsl:when>
          <xsl:when test="$kind = 'cases'">
            <xsl:apply-templates select="f:Bundle/f:entry[f:search/f:mode/@value = 'match' or not(f:search)]/f:resource/f:Task" mode="case"/>
          </xsl:when>
          <xsl:when test="$kind = 'motivation'">
            <xsl:apply-templates select="(f:Bundle/f:entry/f:resource/f:Task)[1]" mode="receipt-nover"/>
            <xsl:if test="f:Bundle/f:entry/f:resource/f:Task">
              <xsl:element name="licenseCase" namespace="{$ns}">
                <xsl:copy-of select="f:Bundle"/>
              </xsl:element>
            </xsl:if>
          </xsl:when>
          <xsl:when test="$kind = 'check'">
            <xsl:element name="covered" namespace="{$ns}"><xsl:value-of select="f:Parameters/f:parameter[f:name/@value = 'covered']/f:valueBoolean/@value"/></xsl:element>
            <xsl:call-template name="licence-figures"/>
            <xsl:for-each select="(f:Parameters/f:parameter[f:name/@value = 'reason']/f:valueString/@value)[1]">
              <xsl:element name="reason" namespace="{$ns}"><xsl:value-of select="."/></xsl:element>
            </xsl:for-each>
          </xsl:when>
          <xsl:when test="$kind = 'dispensing'">
            <xsl:element name="recorded" namespace="{$ns}"><xsl:value-of select="f:Parameters/f:parameter[f:name/@value = 'recorded']/f:valueBoolean/@value"/></xsl:element>
            <xsl:call-template name="licence-figures"/>
          </xsl:when>
        </xsl:choose>
      </xsl:if>
    </xsl:element>
  </xsl:template>

  <!-- $check-licence / $record-dispensing Parameters to the figures of
       core:LicenceFiguresGroup, in its order. -->
  <xsl:template name="licence-figures">
    <xsl:variable name="p" select="f:Parameters/f:parameter"/>
    <xsl:variable name="ref" select="string($p[f:name/@value = 'licence']/f:valueReference/f:reference/@value)"/>
    <xsl:if test="$ref != ''">
      <core:referenceNumber><xsl:value-of select="substring-after($ref, 'Task/')"/></core:referenceNumber>
    </xsl:if>
    <xsl:variable name="lt" select="string($p[f:name/@value = 'licence-type']/f:valueCode/@value)"/>
    <xsl:if test="$lt = 'EH' or $lt = 'GH'">
      <core:licenceType><xsl:value-of select="$lt"/></core:licenceType>
    </xsl:if>
    <xsl:for-each select="($p[f:name/@value = 'beredskap']/f:valueBoolean/@value)[1]">
      <core:beredskap><xsl:value-of select="."/></core:beredskap>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'general-level']/f:valueCode/@value)[1]">
      <core:generalLevel><xsl:value-of select="."/></core:generalLevel>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'valid-from']/f:valueDate/@value)[1]">
      <core:validFrom><xsl:value-of select="."/></core:validFrom>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'valid-to']/f:valueDate/@value)[1]">
      <core:validTo><xsl:value-of select="."/></core:validTo>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'granted-amount']/f:valueDecimal/@value)[1]">
      <core:grantedAmount><xsl:value-of select="."/></core:grantedAmount>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'dispensed-amount']/f:valueDecimal/@value)[1]">
      <core:dispensedAmount><xsl:value-of select="."/></core:dispensedAmount>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'remaining-amount']/f:valueDecimal/@value)[1]">
      <core:remainingAmount><xsl:value-of select="."/></core:remainingAmount>
    </xsl:for-each>
    <xsl:for-each select="($p[f:name/@value = 'unit']/f:valueString/@value)[1]">
      <core:unit><xsl:value-of select="."/></core:unit>
    </xsl:for-each>
  </xsl:template>

  <!-- An issue's expression; for the pharmacy interactions the pipeline's
       parameter names become the request's element names. -->
  <xsl:template name="field">
    <xsl:param name="e"/>
    <xsl:variable name="n">
      <xsl:choose>
        <xsl:when test="starts-with($e, &quot;Parameters.parameter('&quot;)">
          <xsl:value-of select="substring-before(substring-after($e, &quot;('&quot;), &quot;')&quot;)"/>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="$e"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="$op != 'CheckLicense' and $op != 'RecordDispensing'"><xsl:value-of select="$e"/></xsl:when>
      <xsl:when test="$n = 'identifier'">dispensingId</xsl:when>
      <xsl:when test="$n = 'licence'">referenceNumber</xsl:when>
      <xsl:when test="$n = 'product'">productId</xsl:when>
      <xsl:when test="$n = 'patient'">patientId</xsl:when>
      <xsl:when test="$n = 'unit'">careUnitHsaId</xsl:when>
      <xsl:when test="$n = 'administration'">administrationHsaId</xsl:when>
      <xsl:when test="$n = 'dispensed-on'">dispensedOn</xsl:when>
      <xsl:when test="$n = 'on'">date</xsl:when>
      <xsl:otherwise><xsl:value-of select="$n"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="f:Task" mode="receipt-nover">
    <xsl:call-template name="ref-status"/>
  </xsl:template>

  <xsl:template match="f:Task" mode="receipt">
    <xsl:call-template name="ref-status"/>
    <xsl:if test="f:meta/f:versionId/@value">
      <xsl:element name="caseVersion" namespace="{$ns}"><xsl:value-of select="f:meta/f:versionId/@value"/></xsl:element>
    </xsl:if>
  </xsl:template>

  <xsl:template name="ref-status">
    <xsl:if test="f:identifier[f:system/@value = $refsys]">
      <xsl:element name="referenceNumber" namespace="{$ns}"><xsl:value-of select="f:identifier[f:system/@value = $refsys]/f:value/@value"/></xsl:element>
    </xsl:if>
    <xsl:if test="f:businessStatus/f:coding/f:code/@value">
      <xsl:element name="caseStatus" namespace="{$ns}"><xsl:value-of select="f:businessStatus/f:coding/f:code/@value"/></xsl:element>
    </xsl:if>
  </xsl:template>

  <!-- One row of Mina ärenden: no patient data. The licence type and the
       drug come from the case's MedicationRequest (and its Medication),
       the "include" entries that follow this Task's "match" entry. -->
  <xsl:template match="f:Task" mode="case">
    <xsl:variable name="me" select="generate-id(../..)"/>
    <xsl:variable name="incl" select="../../following-sibling::f:entry[f:search/f:mode/@value = 'include'][generate-id(preceding-sibling::f:entry[not(f:search/f:mode/@value = 'include')][1]) = $me]/f:resource"/>
    <xsl:variable name="mr" select="($incl/f:MedicationRequest)[1]"/>
    <xsl:element name="licenseCase" namespace="{$ns}">
      <core:referenceNumber><xsl:value-of select="f:identifier[f:system/@value = $refsys]/f:value/@value"/></core:referenceNumber>
      <core:caseStatus><xsl:value-of select="f:businessStatus/f:coding/f:code/@value"/></core:caseStatus>
      <xsl:if test="f:meta/f:versionId/@value">
        <core:caseVersion><xsl:value-of select="f:meta/f:versionId/@value"/></core:caseVersion>
      </xsl:if>
      <xsl:variable name="lt" select="string(($mr/f:extension[@url = 'http://klasgw.org/fhir/StructureDefinition/klas-licence-type']/f:valueCode/@value | f:input[f:type/f:text/@value = 'licenstyp']/f:valueCode/@value)[1])"/>
      <xsl:if test="$lt = 'EH' or $lt = 'GH'">
        <core:licenceType><xsl:value-of select="$lt"/></core:licenceType>
      </xsl:if>
      <xsl:variable name="drug" select="string(($mr/f:contained/f:Medication/f:code/f:text/@value | $incl/f:Medication/f:code/f:text/@value | $mr/f:medicationCodeableConcept/f:text/@value | f:input[f:type/f:text/@value = 'produkt']/f:valueString/@value)[1])"/>
      <xsl:if test="$drug != ''">
        <core:drug><xsl:value-of select="$drug"/></core:drug>
      </xsl:if>
      <xsl:if test="f:meta/f:lastUpdated/@value">
        <core:lastChanged><xsl:value-of select="f:meta/f:lastUpdated/@value"/></core:lastChanged>
      </xsl:if>
    </xsl:element>
  </xsl:template>
</xsl:stylesheet>
